import { describe, expect, it } from 'vitest';
import { MAX_STDIN_BYTES, WireError, decodeExecRequest, defaultSocketPath, encodeExecRequest } from './wire.js';

describe('plugin ⇄ agent wire format', () => {
  it('round-trips the CNI_* variables and stdin, dropping every other variable', () => {
    const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_ARGS: 'A=1;B=2', HOME: '/root', CNI_PATH: '' };
    const body = encodeExecRequest(env, '{"cniVersion":"1.0.0"}');
    expect(decodeExecRequest(body)).toEqual({
      env: { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_ARGS: 'A=1;B=2', CNI_PATH: '' },
      stdin: '{"cniVersion":"1.0.0"}',
    });
  });

  it.each([
    [Buffer.from('CNI_COMMAND=ADD'), 'not terminated'],
    [Buffer.from('HOME=/\0\0{}'), 'unexpected environment entry'],
    [Buffer.from('CNI_COMMAND=ADD\0CNI_COMMAND=DEL\0\0'), 'given twice'],
    [Buffer.from('=x\0\0'), 'unexpected environment entry'],
    [Buffer.concat([Buffer.from('CNI_COMMAND=ADD\0\0'), Buffer.alloc(MAX_STDIN_BYTES + 1, 0x20)]), 'larger than'],
  ])('refuses a malformed request (%#: %s)', (body, text) => {
    expect(() => decodeExecRequest(body)).toThrow(WireError);
    expect(() => decodeExecRequest(body)).toThrow(text);
  });

  it('names the per-netns socket after the namespace inode', () => {
    expect(defaultSocketPath(4026531840n)).toBe('/run/margay/cni-4026531840.sock');
    expect(defaultSocketPath(7, '/tmp/x')).toBe('/tmp/x/cni-7.sock');
  });
});
