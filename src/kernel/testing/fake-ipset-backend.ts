import { KernelOpError, type MargayError } from '../../errors.js';
import { KernelBatchError } from '../errors.js';
import type { IpsetBackend } from '../ipset-backend.js';
import {
  assertOwnedIpsetLines,
  renderReplaceSet,
  type IpsetSpec,
  type IpsetType,
  type KernelIpset,
} from '../ipset-format.js';
import { isOwnedIpset } from '../ownership.js';
import { FailureInjector } from './failure-injector.js';

interface FakeSet {
  spec: IpsetSpec;
  members: string[];
}

/**
 * In-memory ipsets interpreting restore lines like `ipset restore -exist` (line by line, stopping at
 * the first error, which is named). `inUse` marks sets iptables references (destroy then fails);
 * `seedForeign` adds sets other programs own.
 */
export class FakeIpsetBackend implements IpsetBackend {
  readonly sets = new Map<string, FakeSet>();
  readonly inUse = new Set<string>();
  readonly faults = new FailureInjector();

  get ops(): string[] {
    return this.faults.ops;
  }

  failNext(err: MargayError, match?: RegExp): void {
    this.faults.failNext(err, match);
  }

  seedForeign(spec: IpsetSpec, members: readonly string[] = []): void {
    this.sets.set(spec.name, { spec, members: [...members] });
  }

  async list(): Promise<KernelIpset[]> {
    this.faults.record('list');
    return [...this.sets.values()]
      .filter((s) => isOwnedIpset(s.spec.name))
      .map((s) => ({ ...s.spec, members: [...s.members] }));
  }

  async listNames(): Promise<string[]> {
    this.faults.record('listNames');
    return [...this.sets.keys()].filter(isOwnedIpset);
  }

  async restore(lines: readonly string[]): Promise<void> {
    this.faults.record(`restore ${lines.length}`);
    assertOwnedIpsetLines(lines);
    lines.forEach((line, i) => {
      const t = line.trim().split(/\s+/);
      const fail = (reason: string): never => {
        throw new KernelBatchError(['ipset', 'restore', '-exist'], 1, reason, [{ line: i + 1, text: line, reason }]);
      };
      const need = (n: string | undefined): FakeSet =>
        this.sets.get(n ?? '') ?? fail('The set with the given name does not exist');
      switch (t[0]) {
        case 'create': {
          const fam = t.indexOf('family') >= 0 ? t[t.indexOf('family') + 1] : undefined;
          const spec: IpsetSpec = {
            name: t[1]!,
            type: t[2] as IpsetType,
            ...(fam === 'inet' || fam === 'inet6' ? { family: fam } : {}),
          };
          const cur = this.sets.get(spec.name);
          if (cur && (cur.spec.type !== spec.type || cur.spec.family !== spec.family))
            fail('Set cannot be created: set with the same name already exists');
          if (!cur) this.sets.set(spec.name, { spec, members: [] });
          return;
        }
        case 'add': {
          const s = need(t[1]);
          if (!s.members.includes(t[2]!)) s.members.push(t[2]!);
          return;
        }
        case 'del': {
          const s = need(t[1]);
          s.members = s.members.filter((m) => m !== t[2]);
          return;
        }
        case 'flush':
          need(t[1]).members = [];
          return;
        case 'swap': {
          const a = need(t[1]),
            b = need(t[2]);
          // The kernel swaps whole sets (names exchanged); it refuses only a family (or dimension) mismatch.
          if (a.spec.family !== b.spec.family) fail('The sets cannot be swapped: their type does not match');
          this.sets.set(t[1]!, { spec: { ...b.spec, name: t[1]! }, members: b.members });
          this.sets.set(t[2]!, { spec: { ...a.spec, name: t[2]! }, members: a.members });
          return;
        }
        case 'destroy':
          if (this.inUse.has(t[1]!)) fail('Set cannot be destroyed: it is in use by a kernel component');
          this.sets.delete(t[1]!);
          return;
        default:
          fail(`unsupported ${t[0]}`);
      }
    });
  }

  async replaceSet(spec: IpsetSpec, members: readonly string[]): Promise<void> {
    await this.restore(renderReplaceSet(spec, members));
  }

  async destroy(name: string): Promise<void> {
    this.faults.record(`destroy ${name}`);
    assertOwnedIpsetLines([`destroy ${name}`]);
    if (this.inUse.has(name))
      throw new KernelOpError(
        ['ipset', 'destroy', name],
        1,
        'Set cannot be destroyed: it is in use by a kernel component',
      );
    this.sets.delete(name);
  }
}
