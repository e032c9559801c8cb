import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runMargayctl } from '../src/cli/margayctl.js';
import { openDatastore } from '../src/datastore/index.js';
import { silentLogger } from '../src/log.js';
import { Ipam } from './index.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mgy-ipam-cli-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function io() {
  const out: string[] = [],
    err: string[] = [];
  return { out, err, io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) } };
}

async function seed(): Promise<[string, string]> {
  const ds = await openDatastore(`file:${dir}`, { log: silentLogger() });
  await ds.create({
    apiVersion: 'margay.dev/v1',
    kind: 'IPPool',
    metadata: { name: 'p' },
    spec: { cidr: '10.70.0.0/24', blockSize: 28 },
  });
  await ds.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'live', namespace: 'ns' } });
  const ipam = new Ipam({ store: ds, log: silentLogger() });
  const a = await ipam.assign({
    network: 'net',
    containerId: 'c1',
    node: 'n1',
    pod: { namespace: 'ns', name: 'live' },
  });
  const b = await ipam.assign({
    network: 'net',
    containerId: 'c2',
    node: 'n1',
    pod: { namespace: 'ns', name: 'gone' },
  });
  await ds.close();
  return [a.addresses[0]!.address, b.addresses[0]!.address];
}

describe('margayctl ipam', () => {
  it('show: usage per pool and node, and per block with --show-blocks', async () => {
    await seed();
    const o = io();
    expect(await runMargayctl(['ipam', 'show', '--show-blocks', '--datastore', `file:${dir}`], o.io)).toBe(0);
    const text = o.out.join('\n');
    expect(text).toMatch(/IP Pool\s+10\.70\.0\.0\/24\s+256\s+2 \(1%\)\s+254\s+1 block\(s\)/);
    expect(text).toMatch(/Node\s+n1\s+16\s+2 \(13%\)\s+14\s+1 block\(s\)/);
    expect(text).toMatch(/Block\s+10\.70\.0\.\d+\/28\s+16\s+2 \(13%\)\s+14\s+n1/);
  });

  it('check finds the leak, writes a report, release --from-report frees it, check is then clean', async () => {
    const [live, leaked] = await seed();
    const report = join(dir, 'report.json');
    const c = io();
    expect(await runMargayctl(['ipam', 'check', '-o', report, '--datastore', `file:${dir}`], c.io)).toBe(1);
    expect(c.out.join('\n')).toMatch(
      new RegExp(`leaked-allocation\\s+${leaked.replace(/\./g, '\\.')}\\s+net\\.c2\\s+ns/gone\\s+yes`),
    );
    expect(JSON.parse(await readFile(report, 'utf8')).problems).toHaveLength(1);
    const r = io();
    expect(await runMargayctl(['ipam', 'release', '--from-report', report, '--datastore', `file:${dir}`], r.io)).toBe(
      0,
    );
    expect(r.out.join('\n')).toContain(`released ${leaked} (handle net.c2)`);
    const again = io();
    expect(await runMargayctl(['ipam', 'check', '--datastore', `file:${dir}`], again.io)).toBe(0);
    expect(again.out.join('\n')).toContain('No problems found.');
    const who = io();
    await runMargayctl(['ipam', 'show', '--ip', live, '--datastore', `file:${dir}`], who.io);
    expect(who.out[0]).toMatch(/allocated in block .* to handle net\.c1, pod ns\/live, node n1/);
  });

  it('release refuses a file that is not a report and wrong flag combinations', async () => {
    await seed();
    const bad = io();
    expect(
      await runMargayctl(
        ['ipam', 'release', '--from-report', join(dir, 'nope.json'), '--datastore', `file:${dir}`],
        bad.io,
      ),
    ).toBe(2);
    expect(bad.err.join('\n')).toMatch(/cannot read .*nope.json: ENOENT/);
    const both = io();
    expect(
      await runMargayctl(
        ['ipam', 'release', '--ip', '10.70.0.1', '--handle', 'x', '--datastore', `file:${dir}`],
        both.io,
      ),
    ).toBe(2);
    const notReport = io();
    await writeFile(join(dir, 'other.json'), '{"format":"something-else","problems":[]}');
    expect(
      await runMargayctl(
        ['ipam', 'release', '--from-report', join(dir, 'other.json'), '--datastore', `file:${dir}`],
        notReport.io,
      ),
    ).toBe(1);
    expect(notReport.err.join('\n')).toMatch(/not a margayctl ipam check report/);
  });
});
