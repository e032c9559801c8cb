import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryDatastore } from '../src/datastore/index.js';
import { silentLogger } from '../src/log.js';
import { Ipam, IpamExhaustedError } from './index.js';

/**
 * Several simulated nodes (one Ipam each, as separate agents would be) share one store and run
 * random batches of assign/release concurrently: their reads and CAS writes interleave at every
 * await. No address may ever be held by two live handles, every handle must get back exactly what
 * it was given, and after releasing everything check finds nothing and every block is empty.
 */
const Op = fc.record({ node: fc.integer({ min: 0, max: 2 }), release: fc.boolean(), pick: fc.nat(), v6: fc.boolean() });

describe('concurrent assign/release across simulated nodes', () => {
  it('never hands out an address twice', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(Op, { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 25 }),
        fc.boolean(),
        fc.boolean(),
        async (batches, strict, atomic) => {
          const ds = new MemoryDatastore();
          // Both claim paths: one atomic write, or step by step as over the Kubernetes API (claim.ts).
          if (!atomic) (ds as { createAll?: unknown }).createAll = undefined;
          await ds.create({
            apiVersion: 'margay.dev/v1',
            kind: 'IPPool',
            metadata: { name: 'v4' },
            spec: { cidr: '10.9.0.0/27', blockSize: 29 },
          });
          await ds.create({
            apiVersion: 'margay.dev/v1',
            kind: 'IPPool',
            metadata: { name: 'v6' },
            spec: { cidr: 'fd09::/123', blockSize: 125 },
          });
          await ds.create({
            apiVersion: 'margay.dev/v1',
            kind: 'IPAMConfiguration',
            metadata: { name: 'default' },
            spec: { strictAffinity: strict, minReuseAgeSeconds: 1 },
          });
          const clock = { t: 1_000_000 };
          const nodes = [0, 1, 2].map(
            () =>
              new Ipam({
                store: ds,
                log: silentLogger(),
                now: () => clock.t,
                clusterCacheMs: 0,
                sleep: async () => {},
              }),
          );
          const live = new Map<string, string[]>(); // handle → addresses
          const owner = new Map<string, string>(); // address → handle
          let n = 0;
          for (const batch of batches) {
            clock.t += 400;
            await Promise.all(
              batch.map(async (op) => {
                const ipam = nodes[op.node]!;
                if (op.release && live.size > 0) {
                  const handles = [...live.keys()];
                  const h = handles[op.pick % handles.length]!;
                  const addrs = live.get(h)!;
                  live.delete(h);
                  const rel = await ipam.releaseByHandle(h);
                  expect(rel.map((r) => r.address).sort()).toEqual([...addrs].sort());
                  for (const a of addrs) owner.delete(a);
                  return;
                }
                const id = `c${n++}`;
                try {
                  const r = await ipam.assign({
                    network: 'net',
                    containerId: id,
                    node: `node-${op.node}`,
                    ipv6: op.v6,
                  });
                  const addrs = r.addresses.map((a) => a.address);
                  for (const a of addrs) {
                    expect(owner.get(a), `${a} handed to net.${id} while held by ${owner.get(a)}`).toBeUndefined();
                    owner.set(a, `net.${id}`);
                  }
                  live.set(`net.${id}`, addrs);
                } catch (err) {
                  if (!(err instanceof IpamExhaustedError)) throw err;
                }
              }),
            );
          }
          const report = await nodes[0]!.check();
          expect(report.problems).toEqual([]);
          for (const h of live.keys()) await nodes[1]!.releaseByHandle(h);
          const after = await nodes[2]!.check();
          expect(after.problems).toEqual([]);
          expect(after.summary.allocations).toBe(0);
          expect(after.summary.handles).toBe(0);
        },
      ),
      { numRuns: 40 },
    );
  }, 120_000);
});
