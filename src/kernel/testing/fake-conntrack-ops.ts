import type { MargayError } from '../../errors.js';
import type { ConntrackFlow, ConntrackOps } from '../conntrack-ops.js';
import { FailureInjector } from './failure-injector.js';

/** In-memory conntrack table; tests push flows into `flows`. */
export class FakeConntrackOps implements ConntrackOps {
  flows: ConntrackFlow[] = [];
  readonly faults = new FailureInjector();

  get ops(): string[] {
    return this.faults.ops;
  }

  failNext(err: MargayError, match?: RegExp): void {
    this.faults.failNext(err, match);
  }

  async list(filter: { readonly family?: 4 | 6; readonly ip?: string } = {}): Promise<ConntrackFlow[]> {
    this.faults.record('list');
    return this.flows.filter(
      (f) =>
        (filter.family === undefined || (f.src.includes(':') ? 6 : 4) === filter.family) &&
        (filter.ip === undefined || [f.src, f.dst, f.replySrc, f.replyDst].includes(filter.ip)),
    );
  }

  async deleteFlowsFor(ip: string): Promise<number> {
    this.faults.record(`delete ${ip}`);
    const before = this.flows.length;
    this.flows = this.flows.filter((f) => ![f.src, f.dst, f.replySrc, f.replyDst].includes(ip));
    return before - this.flows.length;
  }

  async count(): Promise<number> {
    this.faults.record('count');
    return this.flows.length;
  }
}
