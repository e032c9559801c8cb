import { describe, expect, it, vi } from 'vitest';
import type { ControlServer } from '../bgp/index.js';
import { silentLogger } from '../src/log.js';
import { StatusSocket } from './status-socket.js';

const server = (closed: string[]): ControlServer => ({
  socketPath: '/run/x/bgp.sock',
  close: async () => void closed.push('closed'),
});

describe('StatusSocket', () => {
  it('listens only when started, once; reports ready; stop closes it', async () => {
    const closed: string[] = [];
    const listen = vi.fn(async () => server(closed));
    const ready: boolean[] = [];
    const s = new StatusSocket(listen, silentLogger(), (ok) => ready.push(ok));
    await new Promise((r) => setImmediate(r));
    expect(listen).not.toHaveBeenCalled();
    expect(ready).toEqual([false]);
    s.start();
    s.start();
    await new Promise((r) => setImmediate(r));
    expect(listen).toHaveBeenCalledTimes(1);
    expect(ready).toEqual([false, true]);
    await s.stop();
    expect(closed).toEqual(['closed']);
  });

  it('retries a failed start with back-off; stop ends the retries', async () => {
    vi.useFakeTimers();
    try {
      const closed: string[] = [];
      let fails = 2;
      const listen = vi.fn(async () => {
        if (fails-- > 0) throw new Error('in use by a running process');
        return server(closed);
      });
      const ready: boolean[] = [];
      const s = new StatusSocket(listen, silentLogger(), (ok) => ready.push(ok));
      s.start();
      await vi.advanceTimersByTimeAsync(5000);
      expect(listen).toHaveBeenCalledTimes(3);
      expect(ready).toEqual([false, true]);
      await s.stop();
      const never = new StatusSocket(
        async () => Promise.reject(new Error('no')),
        silentLogger(),
        () => undefined,
      );
      never.start();
      await vi.advanceTimersByTimeAsync(1);
      await never.stop(); // returns although every attempt fails
      expect(closed).toEqual(['closed']);
    } finally {
      vi.useRealTimers();
    }
  });
});
