// Shared by the install scripts: fetching one wheel from PyPI with the machine's pip, without installing it.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The first of python3 / python that has pip, or undefined. */
export function findPython() {
  return ['python3', 'python'].find((cmd) => {
    try {
      execFileSync(cmd, ['-m', 'pip', '--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * Downloads the wheel `name==version` for this platform into `dest` (no dependencies, binary only). With `sha256`,
 * pip refuses a wheel whose hash differs. Throws when pip fails.
 */
export function downloadWheel(python, { name, version, sha256 }, dest) {
  mkdirSync(dest, { recursive: true });
  const args = ['-m', 'pip', 'download', '--quiet', '--no-deps', '--only-binary=:all:', '--dest', dest];
  if (sha256) {
    const requirements = join(dest, 'requirements.txt');
    writeFileSync(requirements, `${name}==${version} --hash=sha256:${sha256}\n`);
    args.push('--require-hashes', '-r', requirements);
  } else {
    args.push(`${name}==${version}`);
  }
  execFileSync(python, args, { stdio: ['ignore', 'ignore', 'inherit'] });
}
