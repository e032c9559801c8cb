/**
 * IpsetReconciler: Margay's ipsets (names `mgy…`), written with `ipset restore` in one batch per phase.
 *
 *   ipsetUpdated/Removed ──▶ desired: name → {type, family, members}   actual: `ipset save` (ours only)
 *                                              │
 *        applyUpdates():  create missing sets, add/del only the members that differ; a set whose type
 *                         changed is rebuilt in a temporary set (`mgyt-…`) and swapped in, so rules
 *                         using it never see it missing or half-filled
 *        applyRemovals(): destroy sets nobody wants (and leftover temporaries) — called after the
 *                         iptables rules that used them are gone
 *
 * The dataplane runs updates before iptables and removals after it ("ipsets before the rules that
 * use them, removals after"). Members are compared in the form `ipset save` prints (a host prefix
 * without its /32 or /128).
 */
import type { IpsetBackend } from '../../src/kernel/index.js';
import {
  renderAdd,
  renderCreate,
  renderDel,
  renderDestroy,
  renderFlush,
  renderSwap,
  tempIpsetName,
  type IpsetSpec,
} from '../../src/kernel/index.js';
import type { DesiredIpset } from '../calc/index.js';
import { ApplyError, type ApplyStats } from './errors.js';
import type { Reconciler } from './reconciler.js';

interface SetState {
  readonly spec: IpsetSpec;
  readonly members: Set<string>;
}

/** What `ipset create` uses when no maxelem is given. */
const DEFAULT_MAXELEM = 65536;

/** `10.0.0.1/32` → `10.0.0.1` (as ipset prints it); other prefixes unchanged. */
export function ipsetMember(m: string): string {
  return m.endsWith('/32') && !m.includes(':') ? m.slice(0, -3) : m.endsWith('/128') ? m.slice(0, -4) : m;
}

export class IpsetReconciler implements Reconciler {
  readonly name = 'ipsets';
  readonly #desired = new Map<string, SetState>();
  #actual = new Map<string, SetState>();
  readonly #dirty = new Set<string>();
  #resync = true;
  /** Read from the kernel at least once; a later queued (periodic) resync does not unprogram anything. */
  #read = false;

  constructor(private readonly backend: IpsetBackend) {}

  setIpset(s: DesiredIpset): void {
    this.#desired.set(s.name, {
      spec: {
        name: s.name,
        type: s.type,
        family: s.family === 4 ? 'inet' : 'inet6',
        ...(s.maxElem === undefined ? {} : { maxelem: s.maxElem }),
      },
      members: new Set(s.members.map(ipsetMember)),
    });
    this.#dirty.add(s.name);
  }

  removeIpset(name: string): void {
    this.#desired.delete(name);
    this.#dirty.add(name);
  }

  queueResync(): void {
    this.#resync = true;
  }

  get hasPending(): boolean {
    return this.#resync || this.#dirty.size > 0;
  }

  isProgrammed(name: string): boolean {
    return this.#read && !this.#dirty.has(name);
  }

  async apply(): Promise<ApplyStats> {
    const a = await this.applyUpdates();
    const b = await this.applyRemovals();
    return { upserted: a.upserted, deleted: b.deleted };
  }

  async applyUpdates(): Promise<ApplyStats> {
    let upserted = 0;
    try {
      if (this.#resync) await this.#readKernel();
      const lines: string[] = [];
      // Each set with the desired state it is written for: a setIpset during the restore below replaces
      // the desired object, so that set stays dirty for the next apply (a change is never lost).
      const written: [string, SetState][] = [];
      for (const name of this.#dirty) {
        const want = this.#desired.get(name);
        if (want === undefined) continue;
        const have = this.#actual.get(name);
        const before = lines.length;
        if (have === undefined) {
          lines.push(renderCreate(want.spec), ...[...want.members].map((m) => renderAdd(name, m)));
        } else if (
          have.spec.type === want.spec.type &&
          have.spec.family === want.spec.family &&
          (want.spec.maxelem ?? DEFAULT_MAXELEM) !== (have.spec.maxelem ?? DEFAULT_MAXELEM)
        ) {
          // Same kind, other create options: rebuilt aside and swapped in, so rules using the set never
          // see it missing or half-filled.
          const tmp = tempIpsetName(name);
          lines.push(
            renderCreate({ ...want.spec, name: tmp }),
            renderFlush(tmp),
            ...[...want.members].map((m) => renderAdd(tmp, m)),
          );
          lines.push(renderSwap(tmp, name), renderDestroy(tmp));
        } else if (have.spec.type !== want.spec.type || have.spec.family !== want.spec.family) {
          // The kernel swaps only sets of the same type and family (ip_set_swap: "features must not
          // change"), so another type means destroy and create — refused while a rule still uses the
          // set, which the error then names. Margay's set names carry their family and never change
          // type; this is for sets left by another version.
          lines.push(renderDestroy(name), renderCreate(want.spec), ...[...want.members].map((m) => renderAdd(name, m)));
        } else {
          for (const m of have.members) if (!want.members.has(m)) lines.push(renderDel(name, m));
          for (const m of want.members) if (!have.members.has(m)) lines.push(renderAdd(name, m));
        }
        if (lines.length > before) upserted++;
        written.push([name, want]);
      }
      if (lines.length > 0) await this.backend.restore(lines);
      for (const [name, want] of written) {
        this.#actual.set(name, { spec: want.spec, members: new Set(want.members) });
        if (this.#desired.get(name) === want) this.#dirty.delete(name);
      }
      return { upserted, deleted: 0 };
    } catch (err) {
      this.#resync = true;
      throw new ApplyError(this.name, { upserted, deleted: 0 }, { cause: err });
    }
  }

  async applyRemovals(): Promise<ApplyStats> {
    let deleted = 0;
    try {
      if (this.#resync) await this.#readKernel();
      const gone = [...this.#dirty].filter((n) => !this.#desired.has(n));
      const lines = gone.filter((n) => this.#actual.has(n)).map(renderDestroy);
      if (lines.length > 0) await this.backend.restore(lines);
      for (const n of gone) {
        if (this.#actual.delete(n)) deleted++;
        if (!this.#desired.has(n)) this.#dirty.delete(n); // wanted again meanwhile: created next apply
      }
      return { upserted: 0, deleted };
    } catch (err) {
      this.#resync = true;
      throw new ApplyError(this.name, { upserted: 0, deleted }, { cause: err });
    }
  }

  async prefetch(): Promise<void> {
    if (!this.#resync) return;
    try {
      await this.#readKernel();
    } catch (err) {
      this.#resync = true;
      throw new ApplyError(this.name, { upserted: 0, deleted: 0 }, { cause: err });
    }
  }

  async #readKernel(): Promise<void> {
    const sets = await this.backend.list();
    this.#actual = new Map();
    for (const s of sets) {
      const spec: IpsetSpec = {
        name: s.name,
        type: s.type,
        ...(s.family === undefined ? {} : { family: s.family }),
        ...(s.maxelem === undefined ? {} : { maxelem: s.maxelem }),
      };
      this.#actual.set(s.name, { spec, members: new Set(s.members) });
      // Ours but unknown to the graph (or a temporary left by a crash): removed after the rules.
      this.#dirty.add(s.name);
    }
    for (const n of this.#desired.keys()) this.#dirty.add(n);
    this.#resync = false;
    this.#read = true;
  }
}
