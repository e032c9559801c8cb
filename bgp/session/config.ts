/**
 * Session configuration: defaults filled and checked once, then frozen (STYLE 2.1.7). The daemon's YAML
 * schema (bgp/config.ts) validates the operator's file; this checks what a programmatic caller passes.
 */
import { isIP } from 'node:net';
import { ConfigError } from '../../src/errors.js';
import { AFI, FAMILY, SAFI, familyAfi, familySafi } from '../codec/index.js';
import type { Capability, DecodeOptions } from '../codec/index.js';
import { decodeOptions } from '../codec/index.js';
import { routerIdFromText } from '../fsm/index.js';
import type { Negotiated } from '../fsm/index.js';
import type { SessionConfig, SessionConfigInput } from './types.js';

export const SESSION_DEFAULTS = {
  peerPort: 179,
  holdTimeSeconds: 90,
  connectRetrySeconds: 30,
  openHoldSeconds: 240,
  /** RFC 9687 recommends max(8 minutes, 2 × hold time); see makeSessionConfig. */
  sendHoldMinSeconds: 480,
  backoff: { initialSeconds: 1, maxSeconds: 120, stableSeconds: 60 },
  /** Receive work per event-loop turn (shared by all sessions and the speaker's flush): bounds control API latency. */
  sliceMs: 5,
  /**
   * Receive back-pressure (connection.ts): the socket is paused while more than the high-water mark of
   * received bytes waits for the consumer and resumed once at most the low-water mark does. What a peer
   * can have in flight beyond that is the kernel's socket buffers (TCP pushes back from there on).
   */
  maxBacklogBytes: 1024 * 1024,
  resumeBacklogBytes: 256 * 1024,
  /** SO_RCVBUF (0: leave the kernel's autotuning on); needs the native addon. */
  receiveBufferBytes: 256 * 1024,
} as const;

function bad(field: string, why: string): never {
  throw new ConfigError('bgp session', `${field}: ${why}`);
}

export function makeSessionConfig(i: SessionConfigInput): SessionConfig {
  if (isIP(i.peerAddress) === 0) bad('peerAddress', 'must be an IPv4 or IPv6 address');
  if (i.localAddress !== undefined && isIP(i.localAddress) === 0)
    bad('localAddress', 'must be an IPv4 or IPv6 address');
  const routerId = routerIdFromText(i.routerId);
  if (routerId === undefined || routerId === 0) bad('routerId', 'must be a non-zero dotted quad');
  const hold = i.holdTimeSeconds ?? SESSION_DEFAULTS.holdTimeSeconds;
  if (!Number.isInteger(hold) || hold < 0 || hold > 65535 || hold === 1 || hold === 2)
    bad('holdTimeSeconds', 'must be 0 or 3..65535');
  if (!Number.isInteger(i.localAs) || i.localAs < 1 || i.localAs > 0xffffffff) bad('localAs', 'must be 1..4294967295');
  if (i.md5Password !== undefined && (i.md5Password.length < 1 || Buffer.byteLength(i.md5Password) > 80))
    bad('md5Password', 'must be 1..80 bytes');
  if (
    i.ttlSecurityHops !== undefined &&
    (!Number.isInteger(i.ttlSecurityHops) || i.ttlSecurityHops < 1 || i.ttlSecurityHops > 254)
  ) {
    bad('ttlSecurityHops', 'must be 1..254');
  }
  const sendHold = i.sendHoldSeconds ?? (hold === 0 ? 0 : Math.max(SESSION_DEFAULTS.sendHoldMinSeconds, 2 * hold));
  const high = i.maxBacklogBytes ?? SESSION_DEFAULTS.maxBacklogBytes;
  if (!Number.isInteger(high) || high < 4096) bad('maxBacklogBytes', 'must be an integer ≥ 4096');
  if (
    i.resumeBacklogBytes !== undefined &&
    (!Number.isInteger(i.resumeBacklogBytes) || i.resumeBacklogBytes < 0 || i.resumeBacklogBytes >= high)
  ) {
    bad('resumeBacklogBytes', 'must be an integer in 0..maxBacklogBytes-1');
  }
  const cfg: SessionConfig = {
    peerAddress: i.peerAddress,
    peerPort: i.peerPort ?? SESSION_DEFAULTS.peerPort,
    localAddress: i.localAddress,
    localAs: i.localAs,
    peerAs: i.peerAs,
    routerId,
    holdTimeSeconds: hold,
    keepaliveSeconds: i.keepaliveSeconds,
    connectRetrySeconds: i.connectRetrySeconds ?? SESSION_DEFAULTS.connectRetrySeconds,
    delayOpenSeconds: i.delayOpenSeconds ?? 0,
    openHoldSeconds: i.openHoldSeconds ?? SESSION_DEFAULTS.openHoldSeconds,
    sendHoldSeconds: sendHold,
    passive: i.passive ?? false,
    md5Password: i.md5Password,
    ttlSecurityHops: i.ttlSecurityHops,
    families: i.families ?? [FAMILY.IPV4_UNICAST],
    addPath: i.addPath ?? new Map(),
    extendedMessages: i.extendedMessages ?? true,
    extendedNextHop: i.extendedNextHop ?? false,
    gracefulRestart: i.gracefulRestart,
    backoff: { ...SESSION_DEFAULTS.backoff, ...i.backoff },
    sliceMs: i.sliceMs ?? SESSION_DEFAULTS.sliceMs,
    maxBacklogBytes: high,
    receiveBufferBytes: i.receiveBufferBytes ?? SESSION_DEFAULTS.receiveBufferBytes,
    resumeBacklogBytes: i.resumeBacklogBytes ?? Math.min(SESSION_DEFAULTS.resumeBacklogBytes, Math.floor(high / 4)),
    extraCapabilities: i.extraCapabilities ?? [],
  };
  return Object.freeze(cfg);
}

/** The capabilities of our OPEN for this configuration. */
export function openCapabilities(c: SessionConfig): Capability[] {
  const caps: Capability[] = c.families.map((f) => ({ kind: 'multiprotocol', afi: familyAfi(f), safi: familySafi(f) }));
  caps.push({ kind: 'route-refresh' }, { kind: 'enhanced-route-refresh' }, { kind: 'four-octet-as', asn: c.localAs });
  if (c.extendedMessages) caps.push({ kind: 'extended-message' });
  if (c.extendedNextHop === true && c.families.includes(FAMILY.IPV4_UNICAST)) {
    caps.push({ kind: 'extended-next-hop', entries: [{ afi: AFI.IPV4, safi: SAFI.UNICAST, nextHopAfi: AFI.IPV6 }] });
  }
  if (c.addPath.size > 0) {
    caps.push({
      kind: 'add-path',
      families: [...c.addPath].map(([f, mode]) => ({ afi: familyAfi(f), safi: familySafi(f), mode })),
    });
  }
  const gr = c.gracefulRestart;
  if (gr) {
    caps.push({
      kind: 'graceful-restart',
      restarting: gr.restarting,
      notification: gr.notification,
      restartTime: gr.restartTimeSeconds,
      families: c.families.map((f) => ({
        afi: familyAfi(f),
        safi: familySafi(f),
        forwardingPreserved: gr.forwardingPreserved.includes(f),
      })),
    });
  }
  caps.push(...c.extraCapabilities);
  return caps;
}

/** How to decode the peer's messages once the OPENs are exchanged. */
export function negotiatedDecodeOptions(n: Negotiated): DecodeOptions {
  return decodeOptions({
    fourOctetAs: n.fourOctetAs,
    addPathReceive: n.addPathReceive,
    extendedMessages: n.extendedMessages,
    families: n.families,
    isIbgp: n.isIbgp,
    localAs: n.localAs,
    peerAs: n.peerAs,
    enhancedRouteRefresh: n.enhancedRouteRefresh,
    extendedNextHopV4: n.extendedNextHopV4 === true,
  });
}
