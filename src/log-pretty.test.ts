import { describe, expect, it } from 'vitest';
import { formatPrettyLine } from './log-pretty.js';

describe('formatPrettyLine', () => {
  it('time, level, context, message, then fields', () => {
    const line = JSON.stringify({
      level: 30,
      time: '2026-12-07T00:00:00.000Z',
      app: 'margay-node',
      pid: 1,
      component: 'bgp',
      peer: '10.0.0.2',
      msg: 'session state changed',
      to: 'Established',
      note: 'a b',
    });
    expect(formatPrettyLine(line)).toBe(
      '2026-12-07T00:00:00.000Z INFO  [bgp peer=10.0.0.2] session state changed to=Established note="a b"\n',
    );
  });
  it('errors get their code and stack on indented lines', () => {
    const line = JSON.stringify({
      level: 50,
      time: 't',
      msg: 'apply failed',
      err: { type: 'KernelOpError', message: 'boom', code: 'MGY_KERNEL_OP', stack: 'KernelOpError: boom\n    at x' },
    });
    expect(formatPrettyLine(line)).toBe('t ERROR apply failed\n    MGY_KERNEL_OP KernelOpError: boom\n        at x\n');
  });
  it('passes a non-JSON line through', () => {
    expect(formatPrettyLine('hello')).toBe('hello\n');
  });
});
