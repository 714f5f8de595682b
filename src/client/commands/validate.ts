/** `baton validate` and `baton schema`: blueprints checked without a server. */
import { Option, type Command } from 'commander';
import { BlueprintError, formatProblem } from '../../blueprint/errors.js';
import { blueprintJsonSchema, loadBlueprint } from '../../blueprint/load.js';
import { mcpWarnings } from '../../blueprint/mcp.js';
import { examples, jsonOption, out, type JsonFlag } from '../text.js';

/** Adds `baton validate` and `baton schema`. */
export function addValidate(program: Command): void {
  program
    .command('validate')
    .description('check blueprints; problems print as FILE:LINE:COL message')
    .argument('<files...>', 'blueprint files')
    .addOption(jsonOption())
    .addHelpText('after', examples('npx baton validate goals/*.yaml'))
    .action(async (files: string[], opts: JsonFlag) => {
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
          const warnings = mcpWarnings(loaded.blueprint).map((w) => `${w.path.join('.')}: ${w.message}`);
          results.push({ file, ok: true, hash: loaded.hash, problems: [], warnings });
        } catch (err) {
          if (!(err instanceof BlueprintError)) throw err;
          results.push({ file, ok: false, problems: err.problems });
        }
      }
      out(opts, results, () =>
        results
          .map((r) =>
            r.ok
              ? [`${r.file}: ok`, ...(r.warnings ?? []).map((w) => `${r.file}: warning: ${w}`)].join('\n')
              : r.problems.map(formatProblem).join('\n'),
          )
          .join('\n'),
      );
      if (results.some((r) => !r.ok)) process.exitCode = 1;
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
