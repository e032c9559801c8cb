/**
 * Transport security against real peers in their own namespace: TCP-MD5 (RFC 2385) with the right and a
 * wrong key against BIRD and FRR, in both directions (our outgoing socket and our listener), and GTSM
 * (RFC 5082) against BIRD's `ttl security`: we send with TTL 255, and with GTSM on we accept only
 * packets that arrive with TTL 255 (one hop).
 */
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import {
  BgpListener,
  isSockoptAvailable,
  makeSessionConfig,
  Session,
  TcpTransport,
  type SessionConfigInput,
} from '../../bgp/session/index.js';
import { sleep, startBird, startFrr, waitFor, type BirdHandle } from '../helpers/bgp-daemons.js';
import { withNetns } from '../helpers/netns.js';
import { linkToHost, unlinkFromHost } from './host-link.js';

const US = '10.79.0.1';
const THEM = '10.79.0.2';
const KEY = 'sesame-7f3a';
/**
 * How long a session that must not come up is watched: BIRD/FRR and our side retry every 1–2 s, so
 * at least one full retry each way (a right key comes up in under 0.5 s).
 */
const NEVER_MS = 3000;
const log = silentLogger();
const transport = new TcpTransport();

function ours(over: Partial<SessionConfigInput> = {}): Session {
  return new Session(
    makeSessionConfig({
      peerAddress: THEM,
      localAddress: US,
      localAs: 65001,
      peerAs: 65002,
      routerId: US,
      holdTimeSeconds: 9,
      connectRetrySeconds: 1,
      ...over,
    }),
    { log, transport },
  );
}

function bird(opts: { password?: string; passive?: boolean; ttlSecurity?: boolean }): string {
  return `router id ${THEM};
protocol device {}
protocol bgp margay {
  local ${THEM} as 65002; neighbor ${US} as 65001;
  ${opts.password ? `password "${opts.password}";` : ''}
  ${opts.passive ? 'passive on;' : 'connect delay time 1; connect retry time 1; error wait time 1, 2;'}
  ${opts.ttlSecurity ? 'ttl security on;' : ''}
  hold time 9;
  ipv4 { import all; export none; };
}`;
}

async function birdState(b: BirdHandle): Promise<string> {
  return (await b.protocols()).get('margay')?.info ?? '';
}

/** Runs `fn` with a namespace holding THEM, linked to this process's namespace holding US. */
async function withPeer(fn: (ns: string) => Promise<void>): Promise<void> {
  await withNetns(async (ns) => {
    const { hostIf } = await linkToHost(ns, `${US}/24`, `${THEM}/24`);
    try {
      await fn(ns);
    } finally {
      await unlinkFromHost(hostIf);
    }
  });
}

async function expectUp(s: Session, what: string): Promise<void> {
  await waitFor(what, async () => s.state === 'Established', 15_000, 20);
}

/** The session never gets a single BGP message through: the kernel drops the unsigned/unsafe segments. */
async function expectNeverUp(s: Session): Promise<void> {
  await sleep(NEVER_MS);
  expect(s.state).not.toBe('Established');
  expect(s.status.messagesIn).toBe(0);
}

/** Not Established after a while; the peer's packets may reach us (GTSM filters only one direction). */
async function expectNotEstablished(s: Session): Promise<void> {
  await sleep(NEVER_MS);
  expect(s.state).not.toBe('Established');
  expect(s.status.keepalivesIn).toBe(0);
}

describe('TCP-MD5 and GTSM', () => {
  it('needs the native addon (npm run build:native)', () => {
    expect(isSockoptAvailable()).toBe(true);
  });

  describe('BIRD', () => {
    it('right key, we connect: Established', async () => {
      await withPeer(async (ns) => {
        const b = await startBird(ns, bird({ password: KEY, passive: true }));
        const s = ours({ md5Password: KEY });
        try {
          s.start();
          await expectUp(s, 'MD5 session to BIRD');
          expect(await birdState(b)).toContain('Established');
        } finally {
          s.stop();
          await b.stop();
        }
      });
    });

    it('wrong key, we connect: no session', async () => {
      await withPeer(async (ns) => {
        const b = await startBird(ns, bird({ password: KEY, passive: true }));
        const s = ours({ md5Password: 'not-the-key' });
        try {
          s.start();
          await expectNeverUp(s);
          expect(await birdState(b)).not.toContain('Established');
        } finally {
          s.stop();
          await b.stop();
        }
      });
    });

    it('no key, BIRD wants one: no session', async () => {
      await withPeer(async (ns) => {
        const b = await startBird(ns, bird({ password: KEY, passive: true }));
        const s = ours();
        try {
          s.start();
          await expectNeverUp(s);
        } finally {
          s.stop();
          await b.stop();
        }
      });
    });

    it('right key on our listener, BIRD connects: Established; wrong key: refused by the kernel', async () => {
      await withPeer(async (ns) => {
        const l = new BgpListener({ addresses: [US], port: 179, log });
        await l.listen();
        const s = ours({ md5Password: KEY, passive: true });
        l.addPeer(s);
        s.start();
        const b = await startBird(ns, bird({ password: KEY }));
        try {
          await expectUp(s, 'BIRD connecting to our MD5 listener');
          expect(s.status.openedBy).toBe('peer');
          await b.reconfigure(bird({ password: 'wrong-key' }));
          await b.birdc('restart', 'margay');
          await waitFor('session down after BIRD changed its key', async () => s.state !== 'Established', 15_000, 50);
          const before = s.status.messagesIn;
          await sleep(NEVER_MS);
          expect(s.state).not.toBe('Established');
          expect(s.status.messagesIn).toBe(before);
        } finally {
          s.stop();
          await l.close();
          await b.stop();
        }
      });
    });
  });

  describe('FRR', () => {
    const frr = (password: string): string => `frr defaults traditional
router bgp 65002
 bgp router-id ${THEM}
 no bgp ebgp-requires-policy
 neighbor ${US} remote-as 65001
 neighbor ${US} password ${password}
 neighbor ${US} passive
 neighbor ${US} timers 3 9`;

    it('right key: Established', async () => {
      await withPeer(async (ns) => {
        const f = await startFrr(ns, frr(KEY));
        const s = ours({ md5Password: KEY });
        try {
          s.start();
          await expectUp(s, 'MD5 session to FRR');
          await waitFor('FRR sees it Established', async () => (await f.peers())[US]?.state === 'Established', 10_000);
        } finally {
          s.stop();
          await f.stop();
        }
      });
    });

    it('wrong key: no session', async () => {
      await withPeer(async (ns) => {
        const f = await startFrr(ns, frr(KEY));
        const s = ours({ md5Password: 'not-the-key' });
        try {
          s.start();
          await expectNeverUp(s);
          expect((await f.peers())[US]?.state).not.toBe('Established');
        } finally {
          s.stop();
          await f.stop();
        }
      });
    });
    /** FRR as the active side toward our listener, with its own options lines. */
    const frrActive = (lines: string): string => `frr defaults traditional
router bgp 65002
 bgp router-id ${THEM}
 no bgp ebgp-requires-policy
 neighbor ${US} remote-as 65001
 neighbor ${US} timers 3 9
 neighbor ${US} timers connect 1
${lines}`;
    /** Runs configuration lines in FRR's bgpd (vtysh, one -c per line). */
    const frrConfigure = async (workdir: string, lines: string[]): Promise<void> => {
      const args = ['--vty_socket', workdir, '-d', 'bgpd', '-c', 'configure terminal', '-c', 'router bgp 65002'];
      for (const l of lines) args.push('-c', l);
      await execa('vtysh', args);
    };

    it('FRR connects to our MD5 listener: right key Established; after FRR changes its key, nothing gets through', async () => {
      await withPeer(async (ns) => {
        const l = new BgpListener({ addresses: [US], port: 179, log });
        await l.listen();
        const s = ours({ md5Password: KEY, passive: true });
        l.addPeer(s);
        s.start();
        const f = await startFrr(ns, frrActive(` neighbor ${US} password ${KEY}`));
        try {
          await expectUp(s, 'FRR connecting to our MD5 listener');
          expect(s.status.openedBy).toBe('peer');
          await frrConfigure(f.workdir, [`neighbor ${US} password wrong-key`]);
          await waitFor('session down after FRR changed its key', async () => s.state !== 'Established', 20_000, 50);
          const before = s.status.messagesIn;
          await sleep(NEVER_MS);
          expect(s.state).not.toBe('Established');
          expect(s.status.messagesIn).toBe(before);
        } finally {
          s.stop();
          await l.close();
          await f.stop();
        }
      });
    });
  });

  describe('IPv6', () => {
    const US6 = 'fd00:79::1';
    const THEM6 = 'fd00:79::2';
    const bird6 = (password: string): string => `router id ${THEM};
protocol device {}
protocol bgp margay6 {
  local ${THEM6} as 65002; neighbor ${US6} as 65001;
  password "${password}"; passive on; hold time 9;
  ipv6 { import all; export none; };
}`;
    const ours6 = (key: string): Session =>
      ours({ peerAddress: THEM6, localAddress: US6, md5Password: key, families: [0x0201] });

    it('MD5 over an IPv6 session to BIRD: right key Established, wrong key never gets a message through', async () => {
      await withPeer(async (ns) => {
        const hostIf = (await execa('ip', ['-o', 'addr', 'show', 'to', `${US}/32`])).stdout.split(/\s+/)[1]!;
        const nsIf = (await execa('ip', ['-n', ns, '-o', 'addr', 'show', 'to', `${THEM}/32`])).stdout.split(/\s+/)[1]!;
        await execa('ip', ['addr', 'add', `${US6}/64`, 'dev', hostIf, 'nodad']);
        await execa('ip', ['-n', ns, 'addr', 'add', `${THEM6}/64`, 'dev', nsIf, 'nodad']);
        const b = await startBird(ns, bird6(KEY));
        const good = ours6(KEY);
        try {
          good.start();
          await expectUp(good, 'MD5 IPv6 session to BIRD');
          expect([...good.negotiated!.families]).toEqual([0x0201]);
        } finally {
          good.stop();
        }
        const bad = ours6('not-the-key');
        try {
          await b.birdc('restart', 'margay6');
          bad.start();
          await expectNeverUp(bad);
        } finally {
          bad.stop();
          await b.stop();
        }
      });
    });
  });

  describe('listen range (dynamic neighbours) with a key for the whole prefix (TCP_MD5SIG_EXT)', () => {
    it('a neighbour in the range with the range key comes up; one with a wrong key never gets a message through', async () => {
      const l = new BgpListener({ addresses: ['127.0.0.1'], port: 0, log });
      await l.listen();
      const made: Session[] = [];
      l.addRange({
        prefix: '127.0.5.0/24',
        md5Password: KEY,
        accept: (address) => {
          const s = new Session(
            makeSessionConfig({
              peerAddress: address,
              localAs: 65001,
              peerAs: 'external',
              routerId: '1.1.1.1',
              passive: true,
              md5Password: KEY,
            }),
            { log, transport },
          );
          s.start();
          made.push(s);
          return s;
        },
      });
      const client = (address: string, key: string): Session =>
        new Session(
          makeSessionConfig({
            peerAddress: '127.0.0.1',
            peerPort: l.ports[0],
            localAddress: address,
            localAs: 65002,
            peerAs: 65001,
            routerId: address,
            md5Password: key,
          }),
          { log, transport },
        );
      const good = client('127.0.5.7', KEY);
      const bad = client('127.0.5.8', 'not-the-key');
      try {
        good.start();
        await expectUp(good, 'dynamic neighbour with the range key');
        expect(made.map((s) => s.config.peerAddress)).toEqual(['127.0.5.7']);
        bad.start();
        await expectNeverUp(bad);
        expect(made.length).toBe(1); // the kernel dropped its SYNs: no session was ever made for it
      } finally {
        good.stop();
        bad.stop();
        for (const s of made) s.stop();
        await l.close();
      }
    });
  });

  describe('key change on reload (our side)', () => {
    it('a session re-made with a new key: the listener drops the old key and installs the new one', async () => {
      await withPeer(async (ns) => {
        const l = new BgpListener({ addresses: [US], port: 179, log });
        await l.listen();
        const s1 = ours({ md5Password: KEY, passive: true });
        l.addPeer(s1);
        s1.start();
        const b = await startBird(ns, bird({ password: KEY }));
        const s2 = ours({ md5Password: 'second-key', passive: true });
        try {
          await expectUp(s1, 'BIRD with the first key');
          // Reload: the speaker stops the old session, swaps it in the listener, starts the new one.
          s1.stop();
          l.removePeer(s1);
          l.addPeer(s2);
          s2.start();
          await b.reconfigure(bird({ password: 'second-key' }));
          await b.birdc('restart', 'margay');
          await expectUp(s2, 'BIRD with the second key');
          // And back to the old key on BIRD's side: nothing gets through any more.
          await b.reconfigure(bird({ password: KEY }));
          await b.birdc('restart', 'margay');
          await waitFor('down after BIRD went back to the old key', async () => s2.state !== 'Established', 20_000, 50);
          const before = s2.status.messagesIn;
          await sleep(NEVER_MS);
          expect(s2.status.messagesIn).toBe(before);
        } finally {
          s1.stop();
          s2.stop();
          await l.close();
          await b.stop();
        }
      });
    });
  });

  describe('GTSM', () => {
    it('we send with TTL 255: BIRD with ttl security accepts us; without GTSM it does not', async () => {
      await withPeer(async (ns) => {
        const b = await startBird(ns, bird({ passive: true, ttlSecurity: true }));
        // DelayOpen: our OPEN (TTL 64) leaves only after BIRD's, i.e. after BIRD set its minimum TTL on
        // the accepted socket; without it our OPEN can race BIRD's setsockopt and get through.
        const plain = ours({ delayOpenSeconds: 5 });
        try {
          plain.start();
          await expectNotEstablished(plain);
          expect(await birdState(b)).not.toContain('Established');
        } finally {
          plain.stop();
        }
        // BIRD still holds the plain connection (our FIN had TTL 64 too, so it never arrived): restart it.
        await b.birdc('restart', 'margay');
        const s = ours({ ttlSecurityHops: 1 });
        try {
          s.start();
          await expectUp(s, 'GTSM session to BIRD');
        } finally {
          s.stop();
          await b.stop();
        }
      });
    });

    /** Our listener with a passive GTSM (1 hop) session for the peer; both closed afterwards. */
    async function withGtsmListener(fn: (s: Session) => Promise<void>): Promise<void> {
      const l = new BgpListener({ addresses: [US], port: 179, log });
      await l.listen();
      const s = ours({ ttlSecurityHops: 1, passive: true });
      l.addPeer(s);
      s.start();
      try {
        await fn(s);
      } finally {
        s.stop();
        await l.close();
      }
    }

    it('our listener with GTSM accepts only one-hop (TTL 255) packets', async () => {
      await withPeer((ns) =>
        withGtsmListener(async (s) => {
          // BIRD without ttl security sends eBGP with TTL 1: dropped by our minimum TTL of 255.
          const b = await startBird(ns, bird({}));
          try {
            await expectNeverUp(s);
            expect(await birdState(b)).not.toContain('Established');
            await b.reconfigure(bird({ ttlSecurity: true }));
            await b.birdc('restart', 'margay');
            await expectUp(s, 'BIRD with ttl security connecting to our GTSM listener');
          } finally {
            await b.stop();
          }
        }),
      );
    });
    const frrGtsm = (opts: { passive?: boolean; ttlSecurity?: boolean }): string => `frr defaults traditional
router bgp 65002
 bgp router-id ${THEM}
 no bgp ebgp-requires-policy
 neighbor ${US} remote-as 65001
 neighbor ${US} timers 3 9
 neighbor ${US} timers connect 1
${opts.passive ? ` neighbor ${US} passive\n` : ''}${opts.ttlSecurity ? ` neighbor ${US} ttl-security hops 1\n` : ''}`;

    it('FRR with ttl-security hops 1: our GTSM session comes up; a plain one (TTL 64) does not', async () => {
      await withPeer(async (ns) => {
        const f = await startFrr(ns, frrGtsm({ passive: true, ttlSecurity: true }));
        // DelayOpen as with BIRD: our first TTL-64 segment with data leaves after FRR's OPEN.
        const plain = ours({ delayOpenSeconds: 5 });
        try {
          plain.start();
          await expectNotEstablished(plain);
          expect((await f.peers())[US]?.state).not.toBe('Established');
        } finally {
          plain.stop();
        }
        await f.stop();
        const f2 = await startFrr(ns, frrGtsm({ passive: true, ttlSecurity: true }));
        const s = ours({ ttlSecurityHops: 1 });
        try {
          s.start();
          await expectUp(s, 'GTSM session to FRR');
          await waitFor('FRR sees it Established', async () => (await f2.peers())[US]?.state === 'Established', 10_000);
        } finally {
          s.stop();
          await f2.stop();
        }
      });
    });

    it('our GTSM listener: FRR with ttl-security comes up; FRR without it (eBGP TTL 1) never gets a message through', async () => {
      await withPeer((ns) =>
        withGtsmListener(async (s) => {
          const f = await startFrr(ns, frrGtsm({}));
          try {
            await expectNeverUp(s);
          } finally {
            await f.stop();
          }
          const f2 = await startFrr(ns, frrGtsm({ ttlSecurity: true }));
          try {
            await expectUp(s, 'FRR with ttl-security connecting to our GTSM listener');
            expect(s.status.openedBy).toBe('peer');
          } finally {
            await f2.stop();
          }
        }),
      );
    });
  });
});
