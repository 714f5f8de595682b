/** `baton validate` and `baton schema`: blueprints checked without a server (or, with --connect, with its MCP servers). */
import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { BlueprintError, formatProblem, type BlueprintProblem } from '../../blueprint/errors.js';
import { blueprintJsonSchema, loadBlueprint, problemAt, type LoadedBlueprint } from '../../blueprint/load.js';
import { mcpWarnings } from '../../blueprint/mcp-checks.js';
import { connectAndCheck } from '../mcp-connect.js';
import { examples, jsonOption, out, type JsonFlag } from '../text.js';

interface ValidateOptions extends JsonFlag {
  connect?: boolean;
  strict?: boolean;
}

interface Checked {
  problems: BlueprintProblem[];
  warnings: string[];
}

/** The checks beyond the schema: MCP warnings from the blueprint, or from its servers with --connect. */
async function furtherChecks(loaded: LoadedBlueprint, file: string, connect: boolean): Promise<Checked> {
  const line = (w: { path: (string | number)[]; message: string }): string => `${w.path.join('.')}: ${w.message}`;
  if (!connect) return { problems: [], warnings: mcpWarnings(loaded.blueprint).map(line) };
  const report = await connectAndCheck(loaded.blueprint);
  const text = await readFile(file, 'utf8');
  return {
    problems: report.errors.map((e) => problemAt(text, file, e.path, e.message)),
    warnings: report.warnings.map(line),
  };
}

/** Adds `baton validate` and `baton schema`. */
export function addValidate(program: Command): void {
  program
    .command('validate')
    .description('check blueprints; problems print as FILE:LINE:COL message')
    .argument('<files...>', 'blueprint files')
    .addOption(
      new Option(
        '--connect',
        "also start or reach each MCP server (the worker's BATON_TOOL_ENV, BATON_SECRETS and BATON_EGRESS_ALLOW apply) and check what it marks each selected tool",
      ),
    )
    .addOption(new Option('--strict', 'fail (exit 1) on warnings too'))
    .addOption(jsonOption())
    // One example: help examples are run as written by the tests, and --connect would start the example's server.
    .addHelpText('after', examples('npx baton validate goals/*.yaml'))
    .action(async (files: string[], opts: ValidateOptions) => {
      const results: {
        file: string;
        ok: boolean;
        hash?: string;
        problems: BlueprintError['problems'];
        warnings?: string[];
      }[] = [];
      for (const file of files) {
        try {
          const loaded = await loadBlueprint(file);
          const { problems, warnings } = await furtherChecks(loaded, file, opts.connect === true);
          results.push({ file, ok: problems.length === 0, hash: loaded.hash, problems, warnings });
        } catch (err) {
          if (!(err instanceof BlueprintError)) throw err;
          results.push({ file, ok: false, problems: err.problems });
        }
      }
      out(opts, results, () =>
        results
          .map((r) =>
            [
              ...(r.ok ? [`${r.file}: ok`] : r.problems.map(formatProblem)),
              ...(r.warnings ?? []).map((w) => `${r.file}: warning: ${w}`),
            ].join('\n'),
          )
          .join('\n'),
      );
      if (results.some((r) => !r.ok || (opts.strict === true && (r.warnings?.length ?? 0) > 0))) {
        process.exitCode = 1;
      }
    });

  program
    .command('schema')
    .description('print the JSON Schema of blueprints (for editors and CI)')
    .addOption(new Option('--json', 'machine-readable output (the schema is JSON either way)'))
    .addHelpText('after', examples('npx baton schema > blueprint.schema.json'))
    .action(() => {
      process.stdout.write(`${JSON.stringify(blueprintJsonSchema(), null, 2)}\n`);
    });
}
