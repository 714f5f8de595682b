/** `baton worker`: a worker against TEMPORAL_ADDRESS. */
import type { Command } from 'commander';
import { examples, jsonOption, type JsonFlag } from '../text.js';

/** Adds `baton worker`. */
export function addWorker(program: Command): void {
  program
    .command('worker')
    .description('run a worker against TEMPORAL_ADDRESS')
    .option('--scripted', 'use the scripted offline model (goals/scripts/*.script.yaml) when no OPENAI_* is set')
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `
Serves /metrics, /healthz and /readyz on BATON_METRICS_PORT (9464); logs JSON lines (BATON_LOG_FORMAT=pretty for
people); on SIGTERM stops polling and lets running activities finish within BATON_SHUTDOWN_GRACE_TIME (30s).
${examples('OPENAI_API_KEY=sk-... npx baton worker                # polls BATON_TASK_QUEUE on TEMPORAL_ADDRESS')}`,
    )
    .action(async (opts: JsonFlag & { scripted?: boolean }) => {
      const { runWorker } = await import('../../worker-main.js');
      await runWorker({ scripted: opts.scripted === true });
    });
}
