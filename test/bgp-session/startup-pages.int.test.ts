/**
 * margay-bgpd as shipped (`dist/bin/margay-bgpd.js`, needs `npm run build`) hands back the start-up
 * pages of the `node` executable and its libraries once it is up (bgp/native/startup-pages.ts): the
 * log says how much was resident, and the executable's resident pages afterwards are a fraction of it.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { cleanFileMappings } from '../../bgp/native/index.js';
import { waitFor } from '../helpers/bgp-daemons.js';

const BIN = fileURLToPath(new URL('../../dist/bin/margay-bgpd.js', import.meta.url));

describe('margay-bgpd start-up pages', () => {
  it('releases the start-up pages of the node executable once running', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mgy-pages-'));
    const config = join(dir, 'bgpd.yaml');
    await writeFile(
      config,
      `routerId: 10.0.0.1\nasn: 65001\nlisten: { addresses: ["127.0.0.1"], port: 17979 }\ncontrol: { socket: ${join(dir, 'ctl.sock')} }\n`,
    );
    const child = execa(BIN, ['--config', config, '--log-level', 'info'], { reject: false, buffer: false });
    let log = '';
    child.stderr?.on('data', (b: Buffer) => {
      log += b.toString('utf8');
    });
    try {
      await waitFor('the start-up pages log line', async () => log.includes('start-up pages released'), 20_000, 50);
      const line = JSON.parse(log.split('\n').find((l) => l.includes('start-up pages released'))!) as {
        releasedMb: number;
        mappings: number;
      };
      expect(line.mappings).toBeGreaterThan(1);
      expect(line.releasedMb).toBeGreaterThan(20); // ≈ 40 MB of the executable alone on Node 24
      const exe = readlinkSync(`/proc/${child.pid}/exe`);
      const nowKb = cleanFileMappings(readFileSync(`/proc/${child.pid}/smaps`, 'utf8'))
        .filter((m) => m.path === exe)
        .reduce((kb, m) => kb + m.rssKb, 0);
      expect(nowKb).toBeGreaterThan(0);
      expect(nowKb).toBeLessThan((line.releasedMb * 1024) / 2);
    } finally {
      child.kill('SIGTERM');
      await child;
      await rm(dir, { recursive: true, force: true });
    }
  });
});
