import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { childWithout, topLevelKeys } from './log-bindings.js';

/** A logger built like createRootLogger's (base app + pid) that keeps its lines. */
function capture(): { log: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return { log: pino({ base: { app: 'margay-bgpd', pid: process.pid } }, out), lines };
}

describe('log lines without repeated keys', () => {
  it('topLevelKeys keeps repeats that JSON.parse would hide, and skips nested keys', () => {
    expect(topLevelKeys('{"a":1,"b":{"a":2,"c":[{"a":3},"x,\\"y"]},"peer":"p","peer":"p"}')).toEqual([
      'a',
      'b',
      'peer',
      'peer',
    ]);
    expect(() => topLevelKeys('not json')).toThrow();
  });

  it('pino repeats a key bound twice (the bug), childWithout does not', async () => {
    const { log, lines } = capture();
    const speakerPeer = log.child({ component: 'bgp-speaker' }).child({ peer: '192.0.2.2' });
    speakerPeer.child({ peer: '192.0.2.2', peerAs: 65002 }).info('naive');
    childWithout(speakerPeer, { peer: '192.0.2.2', peerAs: 65002 })
      .child({ conn: 'in' })
      .info({ from: 'OpenConfirm', to: 'Established' }, 'fixed');
    childWithout(log, { pid: 1, component: 'x' }).info('base kept');
    await new Promise((r) => setImmediate(r));
    const [naive, fixed, base] = lines.map(topLevelKeys);
    expect(naive!.filter((k) => k === 'peer')).toHaveLength(2);
    expect(new Set(fixed).size).toBe(fixed!.length);
    expect(fixed).toEqual(
      expect.arrayContaining(['pid', 'app', 'component', 'peer', 'peerAs', 'conn', 'from', 'to', 'msg']),
    );
    expect(new Set(base).size).toBe(base!.length);
    expect(JSON.parse(lines[2]!).pid).toBe(process.pid);
  });
});
