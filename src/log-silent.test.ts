import { describe, expect, it } from 'vitest';
import { silentLogger } from './log.js';

describe('silentLogger', () => {
  it('drops every level, children included, and reports nothing enabled', () => {
    const log = silentLogger();
    for (const m of ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const) expect(log[m]('x')).toBeUndefined();
    const child = log.child({ component: 'c' }).child({ peer: 'p' });
    child.info({ a: 1 }, 'dropped');
    expect(child.isLevelEnabled('fatal')).toBe(false);
    expect(child.bindings()).toEqual({ component: 'c', peer: 'p' });
    expect(log.bindings()).toEqual({});
    expect(log.level).toBe('silent');
    let flushed = false;
    log.flush(() => (flushed = true));
    expect(flushed).toBe(true);
  });
});
