import { InvariantError, KernelOpError } from '../errors.js';
import type { Logger } from '../log.js';
import type { CommandResult, CommandRunner, RunOptions } from './command-runner.js';

/**
 * Named network namespaces (`ip netns`, files under /run/netns). The agent and the lab program
 * other namespaces by name: every other adapter takes a `netns` and runs `ip -n NS ...` or
 * `ip netns exec NS ...`; this one creates, lists and deletes them.
 */
export interface NetnsOps {
  list(): Promise<string[]>;
  exists(name: string): Promise<boolean>;
  add(name: string): Promise<void>;
  /** Idempotent: deleting a namespace that does not exist is not an error. */
  delete(name: string): Promise<void>;
  exec(name: string, argv: readonly string[], opts?: Omit<RunOptions, 'netns'>): Promise<CommandResult>;
}

const NETNS = /^[A-Za-z0-9_.-]{1,64}$/;

export function validateNetnsName(name: string): string {
  if (!NETNS.test(name) || name === '.' || name === '..') {
    throw new InvariantError(
      `network namespace name ${JSON.stringify(name)} is not valid (1-64 chars of [A-Za-z0-9_.-])`,
    );
  }
  return name;
}

/** Parses `ip -j netns list` (empty output when there are none). */
export function parseNetnsList(json: string): string[] {
  const text = json.trim();
  if (text === '') return [];
  return (JSON.parse(text) as { name: string }[]).map((n) => n.name);
}

export class IpNetnsOps implements NetnsOps {
  constructor(
    private readonly runner: CommandRunner,
    private readonly log: Logger,
  ) {}

  async list(): Promise<string[]> {
    return parseNetnsList((await this.runner.run(['ip', '-j', 'netns', 'list'])).stdout);
  }

  async exists(name: string): Promise<boolean> {
    return (await this.list()).includes(validateNetnsName(name));
  }

  async add(name: string): Promise<void> {
    await this.runner.run(['ip', 'netns', 'add', validateNetnsName(name)]);
    await this.runner.run(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
    this.log.info({ netns: name }, 'network namespace added');
  }

  async delete(name: string): Promise<void> {
    const r = await this.runner.run(['ip', 'netns', 'del', validateNetnsName(name)], { allowFailure: true });
    if (r.exitCode === 0) {
      this.log.info({ netns: name }, 'network namespace deleted');
      return;
    }
    if (/No such file or directory/.test(r.stderr)) return;
    throw new KernelOpError(r.argv, r.exitCode, r.stderr);
  }

  async exec(name: string, argv: readonly string[], opts: Omit<RunOptions, 'netns'> = {}): Promise<CommandResult> {
    return this.runner.run(argv, { ...opts, netns: validateNetnsName(name) });
  }
}
