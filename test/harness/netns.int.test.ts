import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { createNetns, deleteNetns, inNetns, linkNetns, withNetnses } from '../helpers/netns.js';

describe('test harness', () => {
  it('runs inside a private network namespace (only loopback, no host interfaces)', async () => {
    const links = JSON.parse((await execa('ip', ['-j', 'link', 'show'])).stdout) as { ifname: string }[];
    expect(links.map((l) => l.ifname)).toEqual(['lo']);
  });

  it('links two namespaces and cleans them up', async () => {
    let names: string[] = [];
    await withNetnses(2, async ([a, b]) => {
      names = [a!, b!];
      await linkNetns(a!, b!, '10.250.0.1/30', '10.250.0.2/30');
      await inNetns(a!, 'ping', ['-c', '1', '-W', '2', '10.250.0.2']);
    });
    const left = (await execa('ip', ['netns', 'list'])).stdout;
    for (const n of names) expect(left).not.toContain(n);
  });

  it('deleteNetns kills processes left inside', async () => {
    const ns = await createNetns();
    const child = execa('ip', ['netns', 'exec', ns, 'sleep', '60'], { reject: false });
    await new Promise((r) => setTimeout(r, 200));
    await deleteNetns(ns);
    const r = await child;
    expect(r.signal ?? r.exitCode).toBeTruthy();
  });
});
