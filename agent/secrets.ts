/**
 * BGP passwords: a BGPPeer's `password.secretKeyRef {name, key}` is read from
 * `<secrets dir>/<name>/<key>`, the layout of a Kubernetes Secret mounted as a volume (the DaemonSet
 * mounts the secrets it may read there; in file mode an operator writes the files). Trailing
 * newlines are dropped. Names are checked so a reference cannot leave the directory.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../src/log.js';
import type { SecretRef } from './bgp/index.js';

const SAFE = /^[A-Za-z0-9][-._A-Za-z0-9]*$/;

export function readSecret(dir: string, ref: SecretRef, log: Logger): string | undefined {
  if (!SAFE.test(ref.name) || !SAFE.test(ref.key)) {
    log.warn({ secret: ref.name, key: ref.key }, 'secret reference with unsafe characters refused');
    return undefined;
  }
  const path = join(dir, ref.name, ref.key);
  try {
    const v = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    return v === '' ? undefined : v;
  } catch (err) {
    // Reported by the planner as a problem naming the peer; logged here with the path.
    log.warn({ err, path }, 'BGP password secret unreadable');
    return undefined;
  }
}
