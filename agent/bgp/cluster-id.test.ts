import { describe, expect, it } from 'vitest';
import { chooseClusterId } from './cluster-id.js';

describe('chooseClusterId', () => {
  const base = { routerId: '10.0.0.3', others: [undefined, undefined] };
  it.each<[string, string | undefined, string | undefined, (string | undefined)[], string | undefined, boolean]>([
    ['unchanged', '224.0.0.1', '224.0.0.1', [], '224.0.0.1', false],
    ['becoming a reflector: keeps the router ID in use, no restart', undefined, '224.0.0.1', [], undefined, true],
    [
      'joining a cluster others use: still safe (nobody else uses our router ID)',
      undefined,
      '224.0.0.1',
      ['224.0.0.1'],
      undefined,
      true,
    ],
    ['moving to another cluster while nobody else is in the old one', '224.0.0.1', '224.0.0.2', [], '224.0.0.1', true],
    [
      'leaving a cluster others stay in: their reflections would look like loops, apply now',
      '224.0.0.1',
      undefined,
      ['224.0.0.1'],
      undefined,
      false,
    ],
    [
      'moving away from a cluster others stay in: apply now',
      '224.0.0.1',
      '224.0.0.2',
      ['224.0.0.1', undefined],
      '224.0.0.2',
      false,
    ],
    ['wanted equals the router ID in use: nothing to change', undefined, '10.0.0.3', [], undefined, false],
  ])('%s', (_n, running, wanted, others, clusterId, deferred) => {
    expect(chooseClusterId({ ...base, running, wanted, others })).toEqual({ clusterId, deferred });
  });
});
