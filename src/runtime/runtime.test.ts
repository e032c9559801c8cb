import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../log.js';
import {
  Backoff,
  backoffDelay,
  FakeClock,
  Lifecycle,
  ServiceGroup,
  ServiceStartError,
  ServiceStoppedError,
  ServiceStopError,
  sleep,
  type Service,
} from './index.js';

describe('backoff', () => {
  it('doubles from initial up to the cap, 0 failures means no wait', () => {
    const p = { initial: 1, max: 120, jitter: [1, 1] as const };
    expect([0, 1, 2, 3, 4, 8, 50, 5000].map((f) => backoffDelay(f, p, 0.3))).toEqual([0, 1, 2, 4, 8, 120, 120, 120]);
  });
  it('never exceeds the cap and stays inside the jitter range', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 1, max: 2, noNaN: true }),
        (n, r, lo, hi) => {
          const p = { initial: 250, max: 30_000, jitter: [lo, hi] as const };
          const d = backoffDelay(n, p, r);
          const base = Math.min(30_000, 250 * 2 ** (n - 1));
          expect(d).toBeLessThanOrEqual(30_000);
          expect(d).toBeGreaterThanOrEqual(base * lo - 1e-9);
          expect(d).toBeLessThanOrEqual(base * hi + 1e-9);
        },
      ),
    );
  });
  it('Backoff counts failures, rounds, and resets on success', () => {
    const b = new Backoff({ initial: 100, max: 1000, jitter: [0.5, 1] }, () => 0);
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([50, 100, 200, 400, 500]);
    expect(b.attempt).toBe(5);
    b.reset();
    expect(b.next()).toBe(50);
  });
});

describe('FakeClock', () => {
  it('fires timers in due order, each seeing its own time, including ones set while firing', () => {
    const c = new FakeClock(1000);
    const seen: string[] = [];
    c.setTimeout(() => seen.push(`b@${c.now()}`), 20);
    c.setTimeout(() => {
      seen.push(`a@${c.now()}`);
      c.setTimeout(() => seen.push(`c@${c.now()}`), 5);
    }, 10);
    const t = c.setTimeout(() => seen.push('never'), 15);
    t.cancel();
    expect(c.pendingDelays).toEqual([10, 20]);
    c.advance(30);
    expect(seen).toEqual(['a@1010', 'c@1015', 'b@1020']);
    expect(c.now()).toBe(1030);
  });
  it('sleep resolves on the clock and rejects when aborted', async () => {
    const c = new FakeClock();
    const done = sleep(c, 50);
    c.advance(50);
    await done;
    const ac = new AbortController();
    const s = sleep(c, 50, ac.signal);
    ac.abort(new Error('stop'));
    await expect(s).rejects.toThrow('stop');
    expect(c.pendingDelays).toEqual([]);
  });
  it('runAll refuses to spin forever', () => {
    const c = new FakeClock();
    const again = (): void => void c.setTimeout(again, 1);
    again();
    expect(() => c.runAll(100)).toThrow(/still 1 timer/);
  });
});

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('Lifecycle', () => {
  it('start and stop are idempotent and stop waits for queued work before closing', async () => {
    const l = new Lifecycle('svc');
    const events: string[] = [];
    let starts = 0;
    await Promise.all([l.start(() => void starts++), l.start(() => void starts++)]);
    expect(starts).toBe(1);
    expect(l.state).toBe('running');
    const gate = deferred();
    const work = l.run(async () => {
      await gate.promise;
      events.push('work done');
    });
    const stop1 = l.stop(() => void events.push('closed'));
    const stop2 = l.stop(() => void events.push('closed twice'));
    expect(stop1).toBe(stop2);
    expect(l.state).toBe('stopping');
    expect(l.signal.aborted).toBe(true);
    await expect(l.run(async () => 1)).rejects.toBeInstanceOf(ServiceStoppedError);
    gate.resolve();
    await stop1;
    await work;
    expect(events).toEqual(['work done', 'closed']);
    expect(l.state).toBe('stopped');
    await expect(l.start()).rejects.toBeInstanceOf(ServiceStoppedError);
  });
  it('signal: the same one every time, aborted by stop() whether taken before or after it', async () => {
    const before = new Lifecycle('a');
    await before.start();
    const signal = before.signal;
    expect(signal.aborted).toBe(false);
    expect(before.signal).toBe(signal);
    let reason: unknown;
    signal.addEventListener('abort', () => (reason = signal.reason));
    const stopping = before.stop();
    expect(signal.aborted).toBe(true);
    expect(reason).toBeInstanceOf(ServiceStoppedError);
    await stopping;
    const after = new Lifecycle('b');
    await after.start();
    await after.stop();
    expect(after.signal.aborted).toBe(true);
    expect(after.signal.reason).toBeInstanceOf(ServiceStoppedError);
    expect(after.signal).toBe(after.signal);
  });
  it('stop before start marks it stopped without running the close hook', async () => {
    const l = new Lifecycle('svc');
    let closed = false;
    await l.stop(() => void (closed = true));
    expect([l.state, closed]).toEqual(['stopped', false]);
  });
  it('stop during start waits for start, then closes', async () => {
    const l = new Lifecycle('svc');
    const gate = deferred();
    const events: string[] = [];
    const started = l.start(async () => {
      await gate.promise;
      events.push('started');
    });
    const stopped = l.stop(() => void events.push('closed'));
    gate.resolve();
    await Promise.all([started, stopped]);
    expect(events).toEqual(['started', 'closed']);
    expect(l.state).toBe('stopped');
  });
});

describe('ServiceGroup', () => {
  const svc = (name: string, log: string[], failStart = false, failStop = false): Service => ({
    name,
    start: async () => {
      if (failStart) throw new Error(`${name} start`);
      log.push(`start ${name}`);
    },
    stop: async () => {
      if (failStop) throw new Error(`${name} stop`);
      log.push(`stop ${name}`);
    },
  });
  it('starts in order, stops in reverse, and keeps stopping past a failure', async () => {
    const log: string[] = [];
    const g = new ServiceGroup(silentLogger());
    g.add(svc('store', log));
    g.add(svc('cache', log, false, true));
    g.add(svc('dataplane', log));
    await g.start();
    const err = await g.stop().catch((e: unknown) => e);
    expect(log).toEqual(['start store', 'start cache', 'start dataplane', 'stop dataplane', 'stop store']);
    expect(err).toBeInstanceOf(ServiceStopError);
    expect((err as ServiceStopError).failures.map((f) => f.service)).toEqual(['cache']);
  });
  it('a failed start stops the services already started', async () => {
    const log: string[] = [];
    const g = new ServiceGroup(silentLogger());
    g.add(svc('a', log));
    g.add(svc('b', log, true));
    g.add(svc('c', log));
    await expect(g.start()).rejects.toBeInstanceOf(ServiceStartError);
    expect(log).toEqual(['start a', 'stop a']);
  });
  it('adopted services stop in reverse order of adoption, after the started ones', async () => {
    const log: string[] = [];
    const g = new ServiceGroup(silentLogger());
    g.add(svc('server', log));
    await g.start();
    const store = await g.adopt(svc('store', log));
    await g.adopt(svc('cache', log));
    await g.adopt(store); // adopting twice changes nothing
    expect(g.stopOrder).toEqual(['cache', 'store', 'server']);
    await g.stop();
    expect(log).toEqual(['start server', 'stop cache', 'stop store', 'stop server']);
    await g.stop(); // idempotent: nothing left
    expect(log).toHaveLength(4);
  });
  it('a service adopted once stopping began is stopped at once', async () => {
    const log: string[] = [];
    const g = new ServiceGroup(silentLogger());
    await g.adopt(svc('a', log));
    await g.stop();
    await g.adopt(svc('late', log));
    expect(log).toEqual(['stop a', 'stop late']);
    expect(g.stopOrder).toEqual([]);
    await expect(g.adopt(svc('late-bad', log, false, true))).rejects.toThrow('late-bad stop');
  });
});
