/** `baton dev`: the embedded stack (src/client/dev.ts runs it). */
import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { GoalCommandError } from '../errors.js';
import { examples, jsonOption, type JsonFlag } from '../text.js';
import { startCommand } from './start.js';

function port(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new GoalCommandError(`${flag} must be a port number (1-65535), not ${text}`, 'usage');
  return n;
}

/** Adds `baton dev`. */
export function addDev(program: Command): void {
  program
    .command('dev')
    .description('run the embedded stack: Temporal dev server (data in .baton/), Web UI, search attributes, a worker')
    .option('--port <port>', 'Temporal gRPC port', '7233')
    .option('--ui-port <port>', 'Web UI port', '8233')
    .option('--ip <ip>', 'address to listen on', '127.0.0.1')
    .option('--data <dir>', 'where the SQLite database lives', '.baton')
    .option('--start <file>', 'start this blueprint once the stack is up')
    .option('--input <json>', 'input for --start')
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `
Exits 1 if --port or --ui-port is taken (for example by another \`temporal server start-dev\`) rather than using a
server it did not start. Ctrl-C lets running activities finish before the server stops.
${examples('npx baton dev --start goals/refund-request.yaml')}`,
    )
    .action(
      async (
        opts: JsonFlag & { port: string; uiPort: string; ip: string; data: string; start?: string; input?: string },
      ) => {
        const c = loadConfig();
        const grpc = port(opts.port, '--port');
        const ui = port(opts.uiPort, '--ui-port');
        const host = opts.ip === '0.0.0.0' ? 'localhost' : opts.ip;
        const config = { ...c, address: `${host}:${grpc}`, uiUrl: `http://${host}:${ui}` };
        const { runDev } = await import('../dev.js');
        await runDev(config, {
          port: grpc,
          uiPort: ui,
          ip: opts.ip,
          dataDir: opts.data,
          scripted: true,
          ...(opts.start
            ? {
                onReady: async () => {
                  await startCommand(config, opts.start!, {
                    ...(opts.input ? { input: opts.input } : {}),
                    ...(opts.json ? { json: true } : {}),
                  });
                },
              }
            : {}),
        });
      },
    );
}
