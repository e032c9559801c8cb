import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { silentLogger } from '../../src/log.js';
import { InvariantError, KernelOpError } from '../../src/errors.js';
import { ExecaCommandRunner } from '../../src/kernel/command-runner.js';
import { KernelBatchError } from '../../src/kernel/errors.js';
import { IpsetRestoreBackend } from '../../src/kernel/ipset-backend.js';
import { renderAdd, renderCreate, renderDel } from '../../src/kernel/ipset-format.js';
import { IptablesRestoreBackend } from '../../src/kernel/iptables-backend.js';
import { detectIptablesMode } from '../../src/kernel/iptables-detect.js';
import { renderChainDecl, renderRule } from '../../src/kernel/iptables-format.js';
import { inNetns, linkNetns, withNetns, withNetnses } from '../helpers/netns.js';

const log = silentLogger();
const runner = new ExecaCommandRunner(log);

describe('IpsetRestoreBackend against the kernel', () => {
  it('creates every set type for both families, replaces atomically, lists and destroys only ours', async () => {
    await withNetns(async (ns) => {
      await inNetns(ns, 'ipset', ['create', 'KUBE-FOREIGN', 'hash:ip', 'family', 'inet']);
      await inNetns(ns, 'ipset', ['add', 'KUBE-FOREIGN', '192.0.2.1']);
      const b = new IpsetRestoreBackend(runner, log, ns);
      await b.replaceSet({ name: 'mgyn4', type: 'hash:net', family: 'inet' }, ['10.0.0.0/24', '10.1.0.0/16']);
      await b.replaceSet({ name: 'mgyn6', type: 'hash:net', family: 'inet6' }, ['fd00:1::/64']);
      await b.replaceSet({ name: 'mgyi4', type: 'hash:ip', family: 'inet', maxelem: 1024 }, ['10.0.0.5']);
      await b.replaceSet({ name: 'mgyp6', type: 'hash:ip,port', family: 'inet6' }, [
        'fd00::5,tcp:8080',
        'fd00::6,udp:53',
      ]);
      await b.restore([
        renderCreate({ name: 'mgyl', type: 'list:set' }),
        renderAdd('mgyl', 'mgyn4'),
        renderAdd('mgyl', 'mgyi4'),
      ]);

      const sets = new Map((await b.list()).map((s) => [s.name, s]));
      expect([...sets.keys()].sort()).toEqual(['mgyi4', 'mgyl', 'mgyn4', 'mgyn6', 'mgyp6']);
      expect(sets.get('mgyn4')).toMatchObject({ type: 'hash:net', family: 'inet' });
      expect([...sets.get('mgyn4')!.members].sort()).toEqual(['10.0.0.0/24', '10.1.0.0/16']);
      expect(sets.get('mgyi4')).toMatchObject({ maxelem: 1024, members: ['10.0.0.5'] });
      expect([...sets.get('mgyp6')!.members].sort()).toEqual(['fd00::5,tcp:8080', 'fd00::6,udp:53']);
      expect(sets.get('mgyl')).toMatchObject({ type: 'list:set', members: ['mgyn4', 'mgyi4'] });
      expect((await b.listNames()).sort()).toEqual(['mgyi4', 'mgyl', 'mgyn4', 'mgyn6', 'mgyp6']);

      // Replace swaps in the new content, even while the set is referenced by a list:set, and
      // leaves no temporary behind.
      await b.replaceSet({ name: 'mgyn4', type: 'hash:net', family: 'inet' }, ['10.9.0.0/24']);
      expect((await b.list()).find((s) => s.name === 'mgyn4')!.members).toEqual(['10.9.0.0/24']);
      expect((await b.listNames()).some((n) => n.startsWith('mgyt-'))).toBe(false);

      // Incremental updates, and -exist makes repeats harmless.
      await b.restore([renderAdd('mgyi4', '10.0.0.6'), renderAdd('mgyi4', '10.0.0.6'), renderDel('mgyi4', '10.0.0.5')]);
      expect((await b.list()).find((s) => s.name === 'mgyi4')!.members).toEqual(['10.0.0.6']);

      // A bad line is named.
      const err = await b
        .restore([renderAdd('mgyi4', '10.0.0.7'), renderAdd('mgyi4', 'fd00::1')])
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KernelBatchError);
      expect((err as KernelBatchError).failures[0]).toMatchObject({ line: 2, text: 'add mgyi4 fd00::1' });

      // Never foreign sets.
      await expect(b.restore(['flush KUBE-FOREIGN'])).rejects.toThrow(InvariantError);
      await expect(b.destroy('KUBE-FOREIGN')).rejects.toThrow(InvariantError);

      // A set in use cannot be destroyed; once free it can, twice.
      await expect(b.destroy('mgyn4')).rejects.toThrow(KernelOpError);
      for (const n of ['mgyl', 'mgyn4', 'mgyn6', 'mgyi4', 'mgyp6']) await b.destroy(n);
      await b.destroy('mgyn4');
      expect(await b.list()).toEqual([]);
      expect(await inNetns(ns, 'ipset', ['list', '-n'])).toBe('KUBE-FOREIGN');
    });
  });

  it('a set matched by an iptables rule filters real traffic, and replacing it takes effect', async () => {
    await withNetnses(2, async ([a, b]) => {
      await linkNetns(a!, b!, '10.63.0.1/24', '10.63.0.2/24');
      const sets = new IpsetRestoreBackend(runner, log, b!);
      const fw = new IptablesRestoreBackend(runner, log, 4, await detectIptablesMode(runner, log, { netns: b! }), b!);
      await sets.replaceSet({ name: 'mgyblock', type: 'hash:net', family: 'inet' }, []);
      await fw.restore('filter', [
        renderChainDecl('mgy-in'),
        renderRule('-A', 'mgy-in', ['-m', 'set', '--match-set', 'mgyblock', 'src', '-j', 'DROP'], 'mgy:set'),
        renderRule('-A', 'INPUT', ['-j', 'mgy-in'], 'mgy:jump'),
      ]);
      await inNetns(a!, 'ping', ['-c', '1', '-W', '2', '10.63.0.2']);
      await sets.replaceSet({ name: 'mgyblock', type: 'hash:net', family: 'inet' }, ['10.63.0.0/30']);
      const blocked = await execa('ip', ['netns', 'exec', a!, 'ping', '-c', '1', '-W', '1', '10.63.0.2'], {
        reject: false,
      });
      expect(blocked.exitCode).not.toBe(0);
      await sets.replaceSet({ name: 'mgyblock', type: 'hash:net', family: 'inet' }, ['10.99.0.0/24']);
      await inNetns(a!, 'ping', ['-c', '1', '-W', '2', '10.63.0.2']);
      await fw.removeOwned('filter');
      await sets.destroy('mgyblock');
    });
  });
});
