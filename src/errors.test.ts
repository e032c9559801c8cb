import { describe, expect, it } from 'vitest';
import { ConfigError, InvariantError, KernelOpError, MargayError, ValidationError, assert } from './errors.js';

describe('errors', () => {
  it('carry stable codes and names', () => {
    const e = new KernelOpError(['ip', 'route', 'replace'], 2, 'RTNETLINK answers: Invalid argument\n');
    expect(e).toBeInstanceOf(MargayError);
    expect(e.code).toBe('MGY_KERNEL_OP');
    expect(e.name).toBe('KernelOpError');
    expect(e.message).toBe('ip route replace failed (exit 2): RTNETLINK answers: Invalid argument');
  });
  it('validation errors name object, field path and reason', () => {
    const e = new ValidationError('IPPool', 'pool-a', [{ path: 'spec.blockSize', message: 'must be 20..32' }]);
    expect(e.message).toBe('invalid IPPool "pool-a": spec.blockSize: must be 20..32');
    expect(new ConfigError('env NODENAME', 'required').code).toBe('MGY_CONFIG');
  });
  it('assert throws an InvariantError', () => {
    expect(() => assert(false, 'boom')).toThrow(InvariantError);
  });
});
