import { describe, expect, it } from 'vitest';
import { threeWayMerge } from './three-way-merge.js';

describe('threeWayMerge', () => {
  it('file fields win, fields the file dropped are removed, API-only fields survive', () => {
    const last = { spec: { a: 1, b: 2, list: [1, 2] }, metadata: { labels: { x: '1' } } };
    const desired = { spec: { a: 10, list: [3] }, metadata: { labels: { x: '1' } } };
    const live = {
      spec: { a: 1, b: 2, bgp: { asn: 64512 }, list: [1, 2, 9] },
      metadata: { labels: { x: '1', api: 'y' } },
    };
    expect(threeWayMerge(last, desired, live)).toEqual({
      spec: { a: 10, bgp: { asn: 64512 }, list: [3] },
      metadata: { labels: { x: '1', api: 'y' } },
    });
  });

  it('without a last-applied version nothing is removed (adopting an API-created object)', () => {
    expect(threeWayMerge(undefined, { spec: { a: 1 } }, { spec: { a: 2, b: 3 } })).toEqual({ spec: { a: 1, b: 3 } });
  });

  it('a scalar replacing a map (and back) takes the file value; inputs are not mutated', () => {
    const live = { spec: { a: { deep: 1 } } };
    const out = threeWayMerge({ spec: { a: { deep: 1 } } }, { spec: { a: 'flat' } }, live);
    expect(out).toEqual({ spec: { a: 'flat' } });
    expect(live).toEqual({ spec: { a: { deep: 1 } } });
    expect(threeWayMerge({ spec: { a: 'flat' } }, { spec: { a: { deep: 2 } } }, { spec: { a: 'flat' } })).toEqual({
      spec: { a: { deep: 2 } },
    });
  });
});
