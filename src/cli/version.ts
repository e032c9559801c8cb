import { existsSync, readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { UsageError, type Command } from './command.js';

/**
 * `margayctl version`: Margay's version (the nearest package.json above this module: the repository's,
 * from src/cli, dist/src/cli or the bundle's dist/bundle/entries alike) and the Node running it.
 */
export const VERSION_COMMAND: Command = {
  summary: "print margayctl's version and the Node.js version running it",
  usage: 'margayctl version',
  async run(args, io) {
    if (args.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(args[0])}`);
    io.out(
      `margayctl ${packageVersion(nearestPackageJson(new URL('.', import.meta.url)))} (Node.js ${process.version})`,
    );
    return 0;
  },
};

/** The first package.json in `dir` or a folder above it (the last candidate, at /, if none exists). */
export function nearestPackageJson(dir: URL): URL {
  let d = dir;
  for (;;) {
    const candidate = new URL('package.json', d);
    const up = new URL('..', d);
    if (existsSync(candidate) || up.href === d.href) return candidate;
    d = up;
  }
}

/** The "version" field of a package.json; a clear ConfigError when it is missing or malformed. */
export function packageVersion(file: URL): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('version', `cannot read ${file.pathname}: ${(err as Error).message}`, { cause: err });
  }
  let version: unknown;
  try {
    version = (JSON.parse(text) as { version?: unknown }).version;
  } catch (err) {
    throw new ConfigError('version', `${file.pathname} is not JSON: ${(err as Error).message}`, { cause: err });
  }
  if (typeof version !== 'string' || version === '') {
    throw new ConfigError('version', `${file.pathname} has no "version" string`);
  }
  return version;
}
