import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFER_LATEST_MS, HOLD_LATEST_MS, StartupGates } from './startup-gates.js';

describe('StartupGates', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const state = { routesProgrammed: false, programmed: false, routesLearned: false };

  it('releases the held dataplane once the routes are programmed and learned, once', () => {
    const release = vi.fn();
    const g = new StartupGates(release);
    g.inSync();
    g.applied({ ...state, routesProgrammed: true }); // learned routes still to come
    expect(release).not.toHaveBeenCalled();
    g.applied({ ...state, routesProgrammed: true, routesLearned: true });
    g.applied({ ...state, routesProgrammed: true, routesLearned: true });
    vi.advanceTimersByTime(HOLD_LATEST_MS);
    expect(release.mock.calls).toEqual([['routes']]);
  });

  it('releases it HOLD_LATEST_MS after in-sync when the routes never come (a peer down)', () => {
    const release = vi.fn();
    const g = new StartupGates(release);
    vi.advanceTimersByTime(10 * HOLD_LATEST_MS); // nothing before in-sync
    expect(release).not.toHaveBeenCalled();
    g.inSync();
    vi.advanceTimersByTime(HOLD_LATEST_MS - 1);
    expect(release).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(release.mock.calls).toEqual([['time']]);
  });

  it('deferred work: 1 s after the first full programming with routes learned, else after DEFER_LATEST_MS + 1 s', async () => {
    const early = new StartupGates(() => undefined);
    const late = new StartupGates(() => undefined);
    const done: string[] = [];
    void early.deferred.then(() => done.push('early'));
    void late.deferred.then(() => done.push('late'));
    early.inSync();
    late.inSync();
    early.applied({ routesProgrammed: true, programmed: true, routesLearned: true });
    late.applied({ routesProgrammed: true, programmed: false, routesLearned: true });
    await vi.advanceTimersByTimeAsync(999);
    expect(done).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toEqual(['early']);
    await vi.advanceTimersByTimeAsync(DEFER_LATEST_MS);
    expect(done).toEqual(['early', 'late']);
  });
});
