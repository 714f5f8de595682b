/**
 * One Node line: the `engines` range, the Docker image and CI's Node agree, and every installed package accepts
 * the oldest Node the project supports, so `npm install` prints no engine warning.
 */
import { readFileSync } from 'node:fs';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {
  packages: Record<string, { engines?: { node?: string } | string[]; dev?: boolean; optional?: boolean }>;
};

describe('the Node line', () => {
  const oldest = semver.minVersion(pkg.engines.node);

  it('is the same in engines, the Dockerfile and the Node running CI', () => {
    const image = /^ARG NODE_IMAGE=node:(\d+)/m.exec(readFileSync('Dockerfile', 'utf8'))?.[1];
    expect(oldest?.major).toBe(Number(image));
    expect(semver.satisfies(process.versions.node, pkg.engines.node)).toBe(true);
    expect(semver.major(process.versions.node)).toBe(Number(image));
  });

  it('is accepted by every installed package (no engine warning on npm install)', () => {
    // Plant first: a package declaring Node 22 would be found.
    const refuses = (range: string): boolean => oldest !== null && !semver.satisfies(oldest, range);
    expect(refuses('>=22.0.0')).toBe(true);
    const refused = Object.entries(lock.packages)
      .filter(([path, p]) => path !== '' && !p.optional)
      .flatMap(([path, p]) => {
        const range = Array.isArray(p.engines) ? undefined : p.engines?.node;
        return range && refuses(range) ? [`${path.replace(/^.*node_modules\//, '')} wants node ${range}`] : [];
      });
    expect(refused).toEqual([]);
  });
});
