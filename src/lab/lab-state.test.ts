import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LabStateError } from './errors.js';
import { type LabState, readState, statePath, writeState } from './lab-state.js';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'margay-lab-state-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const state = (): LabState => ({
  version: 1,
  name: 'lab1',
  prefix: 'mgylab1',
  dir,
  options: { name: 'lab1', nodes: 2, podsPerNode: 1, tor: 'bird', mode: 'mesh', dualStack: false },
  phase: 'up',
  entries: [{ kind: 'netns', name: 'mgylab1-n1' }],
  cniLinks: ['/run/margay/cni-4026531840.sock'],
  madeCniDir: true,
  processes: [
    { name: 'bird', ns: 'mgylab1-tor', pid: 42, startTime: '123', pidFile: '/x/bird.pid', logFile: undefined },
  ],
  pods: [{ name: 'p', namespace: 'default', node: 'n1', containerId: 'c', netns: '/x', ips: ['10.0.0.1'] }],
});

async function rejected(text: string): Promise<LabStateError> {
  await writeFile(statePath(dir), text);
  const err = await readState(dir).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LabStateError);
  return err as LabStateError;
}

describe('lab state file', () => {
  it('reads back what was written; no file is no state', async () => {
    expect(await readState(dir)).toBeUndefined();
    await writeState(state());
    expect(await readState(dir)).toEqual(state());
  });

  it('names the bad field', async () => {
    const bad = { ...state(), processes: [{ ...state().processes[0], pid: 'x' }] };
    expect((await rejected(JSON.stringify(bad))).message).toMatch(/processes\.0\.pid/);
    expect((await rejected(JSON.stringify({ ...state(), name: 'Bad!' }))).message).toMatch(/name/);
  });

  it('rejects unknown fields and __proto__ keys without changing any prototype', async () => {
    expect((await rejected(JSON.stringify({ ...state(), extra: 1 }))).message).toMatch(/extra/);
    const text = JSON.stringify(state()).replace('"phase"', '"__proto__":{"polluted":1},"phase"');
    expect((await rejected(text)).message).toMatch(/__proto__/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('rejects a file that is not JSON', async () => {
    expect((await rejected('{')).message).toMatch(/is not JSON/);
  });
});
