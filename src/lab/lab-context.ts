/**
 * What every `margayctl lab` command shares: the lab dir and its layout, the command runner, the
 * logger, the environment handed to lab processes, and where output goes.
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandRunner } from '../kernel/index.js';
import type { Logger } from '../log.js';
import { packageRoot } from './margay-processes.js';

export interface LabContext {
  readonly dir: string;
  readonly runner: CommandRunner;
  readonly log: Logger;
  /** The whole environment of lab processes (PATH, ...): from the composition root. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly out: (text: string) => void;
}

export function defaultLabDir(name: string): string {
  return join(tmpdir(), `margay-lab-${name}`);
}

export const labPaths = (dir: string) => ({
  datastore: join(dir, 'datastore'),
  tor: join(dir, 'tor'),
  node: (name: string) => join(dir, 'nodes', name),
  agents: join(dir, 'agents'),
  agentSocket: (label: string) => join(dir, 'agents', `${label}.sock`),
});

/**
 * The CNI plugin as a container runtime finds it: the compiled `margay` binary when built, else the
 * TypeScript front end run with node. Returns argv and the CNI_PATH dir.
 */
export function cniPlugin(): { argv: string[]; dir: string } {
  const dir = join(packageRoot(), 'dist/cni');
  const bin = join(dir, 'margay');
  return existsSync(bin) ? { argv: [bin], dir } : { argv: [process.execPath, join(dir, 'main.js')], dir };
}

/** Where the CNI plugin looks for its node's agent socket (cni-<netns inode>.sock). */
export const CNI_DIR = '/run/margay';

/**
 * The network config the lab's runtime hands the plugin: the plain one; dual stack asks IPAM for an
 * IPv6 address too, as Calico's dual-stack netconf does (`assign_ipv6`).
 */
export function netconf(dualStack: boolean): Record<string, unknown> {
  return {
    cniVersion: '1.0.0',
    name: 'k8s-pod-network',
    type: 'margay',
    ipam: { type: 'margay-ipam', ...(dualStack ? { assign_ipv4: 'true', assign_ipv6: 'true' } : {}) },
  };
}

export function section(title: string): string {
  return `\n== ${title} ${'='.repeat(Math.max(0, 70 - title.length))}`;
}
