import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { ServiceStoppedError } from '../../src/runtime/index.js';
import { FakeRouteTable } from '../../src/kernel/testing/fake-route-table.js';
import type { RouteChanges } from '../../src/kernel/index.js';
import { parseBgpdConfig } from '../config-file.js';
import { FibSync, FibSyncLoop } from '../fib/index.js';
import { YAML, setup } from './testing/speaker-setup.js';

/** The speaker and the FIB loop follow src/runtime's one service lifecycle (issue 8 §3). */

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** A route table whose writes wait until the test releases them. */
class GatedRouteTable extends FakeRouteTable {
  gate: Promise<void> | undefined;
  writes = 0;
  override async apply(changes: RouteChanges): Promise<void> {
    this.writes++;
    await this.gate;
    return super.apply(changes);
  }
}

describe('BgpSpeaker lifecycle', () => {
  it('start and stop are idempotent: a second call returns the same promise; start after stop is refused', async () => {
    const { speaker, sessions } = await setup();
    expect(speaker.start()).toBe(speaker.start());
    const a = speaker.stop();
    expect(speaker.stop()).toBe(a);
    await vi.advanceTimersByTimeAsync(100);
    await a;
    const ceases = sessions.created.flatMap((s) => s.calls.filter((c) => c[0] === 'stop'));
    expect(ceases).toHaveLength(2); // one Cease per session, not one per stop() call
    await expect(speaker.start()).rejects.toBeInstanceOf(ServiceStoppedError);
  });

  it('stop waits for a reconfigure in flight; a reconfigure after stop is refused', async () => {
    const { speaker } = await setup();
    // A global change (new router id) restarts every session: the reconfigure awaits the listener.
    const next = parseBgpdConfig(YAML.replace('routerId: 10.0.0.1', 'routerId: 10.0.0.9'));
    let reconfigured = false;
    const r = speaker.reconfigure(next).then(() => {
      reconfigured = true;
    });
    const stopped = speaker.stop();
    let stopDone = false;
    void stopped.then(() => {
      stopDone = true;
    });
    await vi.advanceTimersByTimeAsync(100);
    expect(stopDone).toBe(false); // the restart waits 300 ms for the peers to read their Cease 6
    await vi.advanceTimersByTimeAsync(400);
    await r;
    await stopped;
    expect(reconfigured).toBe(true);
    expect(stopDone).toBe(true);
    await expect(speaker.reconfigure(next)).rejects.toBeInstanceOf(ServiceStoppedError);
  });

  it('a reconfigure before start only changes the config', async () => {
    const config = parseBgpdConfig(YAML);
    const { BgpSpeaker } = await import('./speaker.js');
    const { FakeListener, FakeRib, FakeSessions } = await import('./testing/fakes.js');
    const sessions = new FakeSessions();
    const speaker = new BgpSpeaker(config, {
      log: silentLogger(),
      sessions,
      listener: new FakeListener(),
      ribFactory: () => new FakeRib(),
    });
    const next = parseBgpdConfig(YAML.replace('routerId: 10.0.0.1', 'routerId: 10.0.0.9'));
    await speaker.reconfigure(next);
    expect(speaker.config.routerId).toBe('10.0.0.9');
    expect(sessions.created).toHaveLength(0);
    await speaker.start();
    expect(sessions.created).toHaveLength(2);
    const s = speaker.stop();
    await vi.advanceTimersByTimeAsync(100);
    await s;
  });
});

describe('FibSyncLoop lifecycle', () => {
  it('stop waits for the apply in flight, whose routes land; nothing is applied after it', async () => {
    const rt = new GatedRouteTable();
    let release!: () => void;
    rt.gate = new Promise((r) => {
      release = r;
    });
    const loop = new FibSyncLoop(new FibSync(rt, { table: 254, batchSize: 100 }), silentLogger());
    loop.push([{ prefix: '10.1.0.0/24', nextHops: ['10.0.0.2'] }]);
    await vi.advanceTimersByTimeAsync(1);
    expect(rt.writes).toBe(1); // the apply is in flight, held by the gate
    let stopped = false;
    const stop = loop.stop().then(() => {
      stopped = true;
    });
    expect(loop.stop()).toBe(loop.stop());
    await vi.advanceTimersByTimeAsync(10);
    expect(stopped).toBe(false);
    release();
    await stop;
    expect([...rt.routes.keys()].some((k) => k.includes('10.1.0.0/24'))).toBe(true);
    loop.push([{ prefix: '10.2.0.0/24', nextHops: ['10.0.0.2'] }]);
    await vi.advanceTimersByTimeAsync(10);
    expect(rt.writes).toBe(1);
  });

  it('stop cancels a retry waiting out its back-off and resolves at once', async () => {
    const rt = new GatedRouteTable();
    const { KernelOpError } = await import('../../src/errors.js');
    rt.failNext(new KernelOpError(['ip', '-batch', '-'], 1, 'boom'));
    const loop = new FibSyncLoop(new FibSync(rt, { table: 254, batchSize: 100 }), silentLogger());
    loop.push([{ prefix: '10.1.0.0/24', nextHops: ['10.0.0.2'] }]);
    await vi.advanceTimersByTimeAsync(1); // the first apply fails: a retry is scheduled in 500 ms
    const writes = rt.writes;
    await loop.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(rt.writes).toBe(writes);
  });
});

describe('a peer reset by a config change', () => {
  it('sends its Cease 6 at once and reconnects only after a pause, so the peer reads the NOTIFICATION first', async () => {
    const { speaker, sessions } = await setup();
    const old = sessions.last('10.0.0.2');
    const next = parseBgpdConfig(YAML.replace('asn: 65002, import: all', 'asn: 65002, holdTime: 30, import: all'));
    const summary = await speaker.reconfigure(next);
    expect(summary).toMatchObject({ reset: 1 });
    expect(old.calls.find((c) => c[0] === 'stop')?.[1]).toMatchObject({ code: 6, subcode: 6 });
    const renewed = sessions.last('10.0.0.2');
    expect(renewed).not.toBe(old);
    expect(renewed.calls.some((c) => c[0] === 'start')).toBe(false);
    await vi.advanceTimersByTimeAsync(350);
    expect(renewed.calls.some((c) => c[0] === 'start')).toBe(true);
    const s = speaker.stop();
    await vi.advanceTimersByTimeAsync(100);
    await s;
  });
});
