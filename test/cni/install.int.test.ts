import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';

// margay-install-cni as the DaemonSet's init container runs it: plugin + conflist, atomically, idempotently.
const INSTALL = new URL('../../dist/cni/install.js', import.meta.url).pathname;
const PLUGIN = new URL('../../dist/cni/margay', import.meta.url).pathname;
let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('margay-install-cni', () => {
  it('installs the plugin and the conflist, leaves them alone on a re-run, replaces a changed plugin', async () => {
    dir = await mkdtemp(join(tmpdir(), 'mgy-install-'));
    const bin = join(dir, 'bin');
    const net = join(dir, 'net.d');
    const args = [INSTALL, '--bin-dir', bin, '--conf-dir', net, '--mtu', '1440'];
    const first = await execa(process.execPath, args);
    expect(first.stdout).toContain('installed');
    expect(first.stdout).toContain('written');
    expect((await readFile(join(bin, 'margay'))).equals(await readFile(PLUGIN))).toBe(true);
    expect((await stat(join(bin, 'margay'))).mode & 0o777).toBe(0o755);
    const conf = JSON.parse(await readFile(join(net, '10-margay.conflist'), 'utf8')) as {
      cniVersion: string;
      plugins: { type: string; mtu?: number }[];
    };
    expect(conf.cniVersion).toBe('1.0.0');
    expect(conf.plugins.map((p) => p.type)).toEqual(['margay', 'portmap', 'bandwidth']);
    expect(conf.plugins[0]!.mtu).toBe(1440);
    // The installed plugin is the runnable forwarder.
    const v = await execa(join(bin, 'margay'), [], {
      env: { CNI_COMMAND: 'VERSION' },
      input: '{"cniVersion":"1.0.0"}',
    });
    expect(JSON.parse(v.stdout)).toMatchObject({ cniVersion: '1.0.0' });

    const mtime = (await stat(join(net, '10-margay.conflist'))).mtimeMs;
    const again = await execa(process.execPath, args);
    expect(again.stdout).toContain('unchanged, ');
    expect(again.stdout).toMatch(/unchanged$/);
    expect((await stat(join(net, '10-margay.conflist'))).mtimeMs).toBe(mtime);

    await writeFile(join(bin, 'margay'), 'old plugin');
    expect((await execa(process.execPath, args)).stdout).toContain('installed');
    expect((await readFile(join(bin, 'margay'))).equals(await readFile(PLUGIN))).toBe(true);
    // No temp files left behind.
    expect((await readdir(bin)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses bad options with a message naming them', async () => {
    const r = await execa(process.execPath, [INSTALL, '--mtu', '9', '--bin-dir', '/nonexistent'], { reject: false });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('--mtu 9');
  });
});
