import { describe, expect, it } from 'vitest';
import { block, node, pool } from '../../agent/calc/testing/fixtures.js';
import { addPod, withNode } from './dataplane-helpers.js';

describe('smoke', () => {
  it('programs a node', async () => {
    await withNode(async (n) => {
      n.dp.start();
      n.graph.upserted('Node', node('node-b', '10.0.0.2'));
      n.graph.upserted('IPPool', pool('p', '192.168.0.0/16', true));
      n.graph.upserted('IPPool', pool('p6', 'fd00:10::/48', true));
      n.graph.upserted('IPAMBlock', block('192.168.1.0/26', 'node-a'));
      n.graph.upserted('IPAMBlock', block('fd00:10::/122', 'node-a'));
      n.graph.inSync();
      const p = await addPod(n, 'p1', '192.168.1.5', 'fd00:10::5');
      n.graph.registerEndpoint(p.reg);
      await n.dp.waitForEndpoint('p1', { timeoutMs: 5000 });
      console.log(n.dp.lastReport);
      console.log(await n.ip('route'), await n.ip('-6', 'route'));
      console.log(await n.exec('iptables-save'));
      console.log(await n.exec('ip6tables-save'));
      console.log(await n.exec('ipset', 'save'));
      console.log(await n.ip('neigh'));
      n.graph.unregisterEndpoint('p1');
      await n.dp.whenIdle();
      console.log(n.dp.lastReport);
      expect(1).toBe(1);
    });
  });
});
