import { KernelOpError, type MargayError } from '../../errors.js';
import type { CommandResult, RunOptions } from '../command-runner.js';
import { validateNetnsName, type NetnsOps } from '../netns-ops.js';
import { FailureInjector } from './failure-injector.js';

/** In-memory NetnsOps. `exec` answers from `execReplies` (joined argv → stdout), else empty output. */
export class FakeNetnsOps implements NetnsOps {
  readonly namespaces = new Set<string>();
  readonly execReplies = new Map<string, string>();
  readonly faults = new FailureInjector();

  get ops(): string[] {
    return this.faults.ops;
  }

  failNext(err: MargayError, match?: RegExp): void {
    this.faults.failNext(err, match);
  }

  async list(): Promise<string[]> {
    this.faults.record('list');
    return [...this.namespaces];
  }

  async exists(name: string): Promise<boolean> {
    this.faults.record(`exists ${name}`);
    return this.namespaces.has(name);
  }

  async add(name: string): Promise<void> {
    this.faults.record(`add ${name}`);
    if (this.namespaces.has(validateNetnsName(name))) {
      throw new KernelOpError(
        ['ip', 'netns', 'add', name],
        1,
        `Cannot create namespace file "/run/netns/${name}": File exists`,
      );
    }
    this.namespaces.add(name);
  }

  async delete(name: string): Promise<void> {
    this.faults.record(`delete ${name}`);
    this.namespaces.delete(name);
  }

  async exec(name: string, argv: readonly string[], _opts: Omit<RunOptions, 'netns'> = {}): Promise<CommandResult> {
    this.faults.record(`exec ${name} ${argv.join(' ')}`);
    const full = ['ip', 'netns', 'exec', name, ...argv];
    if (!this.namespaces.has(name))
      throw new KernelOpError(full, 1, `Cannot open network namespace "${name}": No such file or directory`);
    return { argv: full, exitCode: 0, stdout: this.execReplies.get(argv.join(' ')) ?? '', stderr: '' };
  }
}
