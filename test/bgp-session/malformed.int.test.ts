/**
 * The session-level malformed-message matrix: a raw peer puts exact bytes on the wire toward a real
 * Session over loopback (inside the sandbox's private network namespace) and asserts the exact
 * NOTIFICATION (code, subcode, data) that comes back and that the connection closes — or, for RFC 7606
 * treat-as-withdraw and attribute-discard, that no NOTIFICATION comes and the session stays Established.
 */
import type { Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import type { UpdateMessage } from '../../bgp/codec/types.js';
import { makeSessionConfig, Session, TcpTransport, type SessionConfigInput } from '../../bgp/session/index.js';
import { RawBgpPeer, openBytes, rawMessage, type RawOpen } from '../helpers/raw-bgp-peer.js';

const PEER: RawOpen = { asn: 65002, holdTime: 90, bgpId: '192.0.2.2' };
const hex = (t: string): Buffer => Buffer.from(t.replace(/\s+/g, ''), 'hex');
const ORIGIN = '40010100';
const AS_PATH = '4002060201 0000fdea';
const NEXT_HOP = '400304c0000201';
const GOOD = ORIGIN + AS_PATH + NEXT_HOP;
const NLRI = '180a0000';

function update(attrs: string, nlri = NLRI, withdrawn = ''): Buffer {
  const w = hex(withdrawn);
  const a = hex(attrs);
  const len = (n: number): Buffer => Buffer.from([n >> 8, n & 255]);
  return rawMessage(2, Buffer.concat([len(w.length), w, len(a.length), a, hex(nlri)]));
}

interface Rig {
  session: Session;
  peer: RawBgpPeer;
  updates: UpdateMessage[];
}
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** Reorders [name, bytes, code, subcode, data] so test titles show the expected NOTIFICATION. */
function titled(cases: [string, Buffer, number, number, string][]): [string, number, number, string, Buffer][] {
  return cases.map(([n, b, c, sc, d]) => [n, c, sc, d, b]);
}

/** A Session connecting out to a raw peer listening on loopback. */
async function rig(over: Partial<SessionConfigInput> = {}): Promise<Rig> {
  const { port, server, accepted } = await RawBgpPeer.listen('127.0.0.1');
  const session = new Session(
    makeSessionConfig({
      peerAddress: '127.0.0.1',
      peerPort: port,
      localAs: 65001,
      peerAs: 65002,
      routerId: '192.0.2.1',
      ...over,
    }),
    { log: silentLogger(), transport: new TcpTransport() },
  );
  const updates: UpdateMessage[] = [];
  session.on('update', (u) => updates.push(u));
  session.start();
  const peer = await accepted;
  cleanups.push(() => {
    session.stop();
    peer.close();
    closeServer(server);
  });
  return { session, peer, updates };
}
function closeServer(s: Server): void {
  s.close();
}

async function establish(r: Rig, open: RawOpen = PEER): Promise<void> {
  await r.peer.handshake(open);
  await until(() => r.session.state === 'Established');
}

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Expect exactly this NOTIFICATION and then the connection closed by the session. */
async function expectNotification(r: Rig, code: number, subcode: number, data = ''): Promise<void> {
  expect(await r.peer.notification()).toEqual({ code, subcode, data });
  await r.peer.closed;
  expect(r.session.state).not.toBe('Established');
}

/** Expect no NOTIFICATION and a live session: a KEEPALIVE round trip proves it. */
async function expectStaysUp(r: Rig): Promise<void> {
  const before = r.peer.received.length;
  r.peer.send(update(GOOD)); // a good UPDATE after the bad one is still processed
  await until(() => r.updates.length >= 2);
  expect(r.peer.received.slice(before).filter((m) => m.type === 3)).toEqual([]);
  expect(r.session.state).toBe('Established');
  expect(r.peer.isClosed).toBe(false);
}

describe('header errors (RFC 4271 §6.1)', () => {
  const cases: [string, Buffer, number, number, string][] = [
    ['marker not all ones', Buffer.concat([Buffer.alloc(16, 0xfe), hex('001304')]), 1, 1, ''],
    ['length 18', rawMessage(4, Buffer.alloc(0), 18), 1, 2, '0012'],
    ['length 4097', rawMessage(2, Buffer.alloc(4078), 4097), 1, 2, '1001'],
    ['type 9', rawMessage(9, Buffer.alloc(4)), 1, 3, '09'],
    ['KEEPALIVE of 20 bytes', rawMessage(4, Buffer.alloc(1)), 1, 2, '0014'],
    ['NOTIFICATION of 20 bytes', rawMessage(3, Buffer.alloc(1)), 1, 2, '0014'],
  ];
  it.each(titled(cases))('%s → %i/%i data=%s', async (_n, code, subcode, data, bytes) => {
    const r = await rig();
    await establish(r);
    r.peer.send(bytes);
    await expectNotification(r, code, subcode, data);
  });
});

describe('OPEN errors (RFC 4271 §6.2, RFC 7607)', () => {
  const cases: [string, Buffer, number, number, string][] = [
    ['version 3', Buffer.from(openBytes(PEER)).fill(3, 19, 20), 2, 1, '0004'],
    ['wrong peer AS', openBytes({ ...PEER, asn: 65099 }), 2, 2, 'fe4b'],
    ['AS 0', openBytes({ ...PEER, asn: 0, capabilities: [] }), 2, 2, '0000'],
    ['BGP identifier 0', openBytes({ ...PEER, bgpId: '0.0.0.0' }), 2, 3, '00000000'],
    ['hold time 1', openBytes({ ...PEER, holdTime: 1 }), 2, 6, '0001'],
    ['hold time 2', openBytes({ ...PEER, holdTime: 2 }), 2, 6, '0002'],
    ['unsupported optional parameter 1', rawMessage(1, hex('04 fdea 005a c0000202 04 01 02 0000')), 2, 4, ''],
    [
      'malformed capability (4-octet AS of 3 bytes)',
      rawMessage(1, hex('04 fdea 005a c0000202 05 02 03 41 01 00')),
      2,
      0,
      '',
    ],
  ];
  it.each(titled(cases))('%s → %i/%i data=%s', async (_n, code, subcode, data, bytes) => {
    const r = await rig();
    await r.peer.waitForType(1);
    r.peer.send(bytes);
    await expectNotification(r, code, subcode, data);
  });
  it('an iBGP peer with our own BGP identifier → 2/3', async () => {
    const r = await rig({ peerAs: 65001 });
    await r.peer.waitForType(1);
    r.peer.sendOpen({ asn: 65001, bgpId: '192.0.2.1' });
    await expectNotification(r, 2, 3, 'c0000201');
  });
});

describe('UPDATE errors: session reset (RFC 4271 §6.3, RFC 7606 §5)', () => {
  const withdrawnOverrun = update(GOOD);
  withdrawnOverrun.writeUInt16BE(200, 19);
  const cases: [string, Buffer, number, number, string][] = [
    ['withdrawn length overruns', withdrawnOverrun, 3, 1, ''],
    ['NLRI prefix length 33', update(GOOD, '210a000000ff'), 3, 10, ''],
    ['unrecognized well-known attribute', update(GOOD + '40630100'), 3, 2, '40630100'],
    ['duplicate MP_UNREACH_NLRI', update('800f03000201800f03000201', ''), 3, 1, ''],
    ['malformed MP_UNREACH_NLRI', update('800f020002', ''), 3, 9, '800f020002'],
  ];
  it.each(titled(cases))('%s → %i/%i data=%s', async (_n, code, subcode, data, bytes) => {
    const r = await rig({ families: [0x0101, 0x0201] });
    await establish(r, {
      ...PEER,
      capabilities: [
        { kind: 'multiprotocol', afi: 1, safi: 1 },
        { kind: 'multiprotocol', afi: 2, safi: 1 },
        { kind: 'four-octet-as', asn: 65002 },
      ],
    });
    r.peer.send(bytes);
    await expectNotification(r, code, subcode, data);
  });
});

describe('UPDATE errors: no NOTIFICATION, the session stays up (RFC 7606)', () => {
  const cases: [string, Buffer, 'treat-as-withdraw' | 'attribute-discard'][] = [
    ['ORIGIN value 3', update(ORIGIN.slice(0, 6) + '03' + AS_PATH + NEXT_HOP), 'treat-as-withdraw'],
    ['missing NEXT_HOP', update(ORIGIN + AS_PATH), 'treat-as-withdraw'],
    ['AS_PATH with AS 0 (RFC 7607)', update(ORIGIN + '40020a0202 0000fdea 00000000' + NEXT_HOP), 'treat-as-withdraw'],
    ['COMMUNITIES length 3', update(GOOD + 'c00803fde900'), 'treat-as-withdraw'],
    ['NEXT_HOP 0.0.0.0', update(ORIGIN + AS_PATH + '40030400000000'), 'treat-as-withdraw'],
    ['ATOMIC_AGGREGATE length 1', update(GOOD + '40060100'), 'attribute-discard'],
  ];
  it.each(cases)('%s → %s', async (_n, bytes, action) => {
    const r = await rig();
    await establish(r);
    r.peer.send(bytes);
    await until(() => r.updates.length >= 1);
    expect(r.updates[0]!.action).toBe(action);
    await expectStaysUp(r);
  });
});

describe('FSM errors (RFC 6608) and timers', () => {
  it('KEEPALIVE before OPEN (OpenSent) → 5/1', async () => {
    const r = await rig();
    await r.peer.waitForType(1);
    r.peer.sendKeepalive();
    await expectNotification(r, 5, 1);
  });
  it('UPDATE in OpenConfirm → 5/2', async () => {
    const r = await rig();
    await r.peer.waitForType(1);
    r.peer.sendOpen(PEER);
    await r.peer.waitForType(4);
    r.peer.send(update(GOOD));
    await expectNotification(r, 5, 2);
  });
  it('OPEN in Established → 5/3', async () => {
    const r = await rig();
    await establish(r);
    r.peer.sendOpen(PEER);
    await expectNotification(r, 5, 3);
  });
  it('hold timer expiry: the peer goes silent → 4/0 after the negotiated 3 s', async () => {
    const r = await rig({ holdTimeSeconds: 3 });
    await establish(r);
    const t0 = Date.now();
    await expectNotification(r, 4, 0);
    const waited = Date.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(2900);
    expect(waited).toBeLessThan(5000);
    // While it lasted, we sent keepalives every second (a third of 3 s).
    expect(r.peer.received.filter((m) => m.type === 4).length).toBeGreaterThanOrEqual(3);
  });
  it('hold timer expiry: half a message and then silence still expires after one hold time (3 s)', async () => {
    const r = await rig({ holdTimeSeconds: 3 });
    await establish(r);
    const t0 = Date.now();
    r.peer.send(Buffer.alloc(10, 0xff)); // the start of a marker, never completed
    await expectNotification(r, 4, 0);
    const waited = Date.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(2900);
    expect(waited).toBeLessThan(4500); // not a second hold time because bytes had arrived
  });
  it('stop() with a message sends Cease 2 with the RFC 9003 shutdown communication', async () => {
    const r = await rig();
    await establish(r);
    r.session.stop({ message: 'maintenance' });
    await expectNotification(r, 6, 2, '0b' + Buffer.from('maintenance').toString('hex'));
    expect(r.session.state).toBe('Idle');
  });
  it('with the RFC 8538 N bit on both sides, stop() sends Hard Reset (Cease 9) wrapping Cease 2; without it, Cease 2', async () => {
    const gr = { restartTimeSeconds: 120, restarting: false, notification: true, forwardingPreserved: [] };
    const grCap = (n: boolean) => ({
      kind: 'graceful-restart' as const,
      restarting: false,
      notification: n,
      restartTime: 120,
      families: [{ afi: 1, safi: 1, forwardingPreserved: false }],
    });
    const caps = [
      { kind: 'multiprotocol' as const, afi: 1, safi: 1 },
      { kind: 'four-octet-as' as const, asn: 65002 },
    ];
    const msg = '03' + Buffer.from('bye').toString('hex');
    const r = await rig({ gracefulRestart: gr });
    await establish(r, { ...PEER, capabilities: [...caps, grCap(true)] });
    r.session.stop({ message: 'bye' });
    await expectNotification(r, 6, 9, '0602' + msg);
    const r2 = await rig({ gracefulRestart: gr });
    await establish(r2, { ...PEER, capabilities: [...caps, grCap(false)] });
    r2.session.stop({ message: 'bye' });
    await expectNotification(r2, 6, 2, msg);
  });
  it('reset() for max-prefix sends Cease 1 with its data and counts a failure', async () => {
    const r = await rig();
    await establish(r);
    r.session.reset(
      { code: 6, subcode: 1, data: Buffer.from('000101000003e8', 'hex') },
      { error: true, minDelaySeconds: 30 },
    );
    await expectNotification(r, 6, 1, '000101000003e8');
    expect(r.session.status.failures).toBe(1);
    expect(r.session.state).toBe('Idle'); // backing off for at least 30 s
  });
  it('ROUTE-REFRESH: an unknown subtype, a family not negotiated, or BoRR without enhanced refresh are ignored (RFC 7313)', async () => {
    const r = await rig();
    const refreshes: unknown[] = [];
    r.session.on('routeRefresh', (m) => refreshes.push(m));
    await establish(r); // PEER offers route refresh but not enhanced route refresh
    r.peer.send(rawMessage(5, hex('0001 07 01'))); // subtype 7
    r.peer.send(rawMessage(5, hex('0002 00 01'))); // IPv6 unicast: not negotiated
    r.peer.send(rawMessage(5, hex('0001 01 01'))); // BoRR
    r.peer.send(rawMessage(5, hex('0001 00 01'))); // a real one
    await until(() => refreshes.length === 1);
    expect(refreshes[0]).toMatchObject({ afi: 1, safi: 1, subtype: 0 });
    r.peer.send(update(GOOD)); // processed after them: the session is still up
    await until(() => r.updates.length === 1);
    expect(r.peer.received.filter((m) => m.type === 3)).toEqual([]);
    expect(r.session.state).toBe('Established');
  });
  it('a NOTIFICATION from the peer ends the session without an answer', async () => {
    const r = await rig();
    await establish(r);
    r.peer.send(rawMessage(3, hex('0602 03 627965')));
    await r.peer.closed;
    expect(r.peer.received.filter((m) => m.type === 3)).toEqual([]);
    expect(r.session.status.lastError).toBe('notification-received (received 6/2 "bye")');
  });
  it('a NOTIFICATION followed by garbage in the same segment is still read as the NOTIFICATION (no 1/1 answer)', async () => {
    const r = await rig();
    await establish(r);
    r.peer.send(Buffer.concat([rawMessage(3, hex('0602 03 627965')), Buffer.alloc(19, 0xfe)]));
    await r.peer.closed;
    expect(r.peer.received.filter((m) => m.type === 3)).toEqual([]);
    expect(r.session.status.lastError).toBe('notification-received (received 6/2 "bye")');
  });
});
