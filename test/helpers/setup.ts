/** Per-file setup: Temporal's runtime logs only warnings, so test output stays readable. */
import { DefaultLogger, Runtime } from '@temporalio/worker';

Runtime.install({ logger: new DefaultLogger('WARN') });
