import { describe, expect, it } from 'vitest';
import { PrerequisiteError } from '../errors.js';
import { silentLogger } from '../log.js';
import type { CommandRunner } from './command-runner.js';
import { chooseIptablesMode, detectIptables, detectIptablesMode } from './iptables-detect.js';
import { FakeCommandRunner } from './testing/fake-command-runner.js';

describe('chooseIptablesMode', () => {
  it.each([
    [{ legacyRules: 12, nftRules: 0, versionText: 'iptables v1.8.9 (nf_tables)' }, 'legacy'],
    [{ legacyRules: 0, nftRules: 3, versionText: 'iptables v1.8.9 (legacy)' }, 'nft'],
    [{ legacyRules: 0, nftRules: 0, versionText: 'iptables v1.8.9 (legacy)' }, 'legacy'],
    [{ legacyRules: 0, nftRules: 0, versionText: 'iptables v1.8.9 (nf_tables)' }, 'nft'],
    [{ legacyRules: 0, nftRules: 0, versionText: undefined }, 'nft'],
    [{ legacyRules: undefined, nftRules: 0, versionText: 'iptables v1.8.9 (legacy)' }, 'nft'],
    [{ legacyRules: 5, nftRules: undefined, versionText: undefined }, 'legacy'],
  ] as const)('%j -> %s', (evidence, mode) => {
    expect(chooseIptablesMode(evidence).mode).toBe(mode);
  });
});

describe('detectIptablesMode', () => {
  it('counts rules of both families per backend, in the namespace', async () => {
    const runner = new FakeCommandRunner()
      .on('iptables-legacy-save', {
        stdout: '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n-A INPUT -j DROP\nCOMMIT\n',
      })
      .on('iptables-nft-save', { stdout: '*filter\n-A INPUT -j ACCEPT\nCOMMIT\n' });
    expect(await detectIptablesMode(runner, silentLogger(), { netns: 'n1' })).toBe('legacy');
    expect(runner.lines).toEqual([
      'ip netns exec n1 iptables-legacy-save',
      'ip netns exec n1 ip6tables-legacy-save',
      'ip netns exec n1 iptables-nft-save',
      'ip netns exec n1 ip6tables-nft-save',
    ]);
  });

  it('asks `iptables -V` only to decide a tie of rule counts', async () => {
    const tie = new FakeCommandRunner().on('iptables -V', { stdout: 'iptables v1.8.9 (legacy)\n' });
    expect(await detectIptablesMode(tie, silentLogger())).toBe('legacy');
    expect(tie.lines.at(-1)).toBe('iptables -V');
    const nftOnly = new FakeCommandRunner()
      .on('iptables -V', { stdout: 'iptables v1.8.9 (legacy)\n' })
      .on('iptables-nft-save', { stdout: '*filter\n-A INPUT -j ACCEPT\nCOMMIT\n' });
    expect(await detectIptablesMode(nftOnly, silentLogger())).toBe('nft');
    expect(nftOnly.lines).not.toContain('iptables -V');
  });

  it("returns the chosen backend's dumps per family (exit 0 only), none with an override", async () => {
    const v4 = '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n';
    const runner = new FakeCommandRunner()
      .on('ip6tables-nft-save', { exitCode: 1, stderr: 'no v6' })
      .on('iptables-nft-save', { stdout: v4 });
    const r = await detectIptables(runner, silentLogger());
    expect(r.mode).toBe('nft');
    expect(r.dumps).toEqual({ 4: v4 });
    expect((await detectIptables(new FakeCommandRunner(), silentLogger(), { override: 'legacy' })).dumps).toEqual({});
  });

  it('honours an override without running anything', async () => {
    const runner = new FakeCommandRunner();
    expect(await detectIptablesMode(runner, silentLogger(), { override: 'legacy' })).toBe('legacy');
    expect(runner.commands).toEqual([]);
  });

  it('treats a missing backend as unavailable, and fails when both are missing', async () => {
    const missing = (re: RegExp): CommandRunner => ({
      async run(argv) {
        if (re.test(argv[0]!)) throw new PrerequisiteError(`${argv[0]} is not installed`);
        return { argv, exitCode: 0, stdout: '', stderr: '' };
      },
    });
    expect(await detectIptablesMode(missing(/legacy|^iptables$/), silentLogger())).toBe('nft');
    await expect(detectIptablesMode(missing(/save$/), silentLogger())).rejects.toThrow(PrerequisiteError);
  });
});
