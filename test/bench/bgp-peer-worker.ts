/**
 * Benchmark peers in their own worker thread, so injecting and collecting never wait on each other:
 *   inject  — establishes one eBGP session per entry of `sessions`, then on 'go' each writes its
 *             prebuilt UPDATEs (`count` prefixes from its own `base`) in one go;
 *   collect — establishes a session and reports when all `count` prefixes from `base` have been
 *             announced to it.
 * Messages to the parent: { ev: 'established' | 'sent' | 'done' | 'error' | 'closed', t?: epoch ms, ... };
 * 'established' and 'sent' come once, when every session of the worker got there.
 */
import { connect, type Socket } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { NlriCounter, TYPE, buildUpdates, encodeKeepalive, encodeOpen } from './bgp-wire.js';

export interface PeerSessionSpec {
  readonly localAddress: string;
  readonly asn: number;
  readonly routerId: string;
  /** First prefix (a u32 address) this session announces (inject) or expects (collect). */
  readonly base: number;
}

export interface PeerWorkerData {
  readonly role: 'inject' | 'collect';
  readonly host: string;
  readonly port: number;
  readonly sessions: readonly PeerSessionSpec[];
  /** Prefixes per session (inject) or in all (collect). */
  readonly count: number;
  readonly attrSets: number;
  readonly shuffle: boolean;
  readonly perUpdate?: number;
}

const now = (): number => performance.timeOrigin + performance.now();
const data = workerData as PeerWorkerData;
const port = parentPort!;
const post = (m: Record<string, unknown>): void => port.postMessage(m);

interface Peer {
  readonly sock: Socket;
  readonly updates: { buf: Buffer; messages: number } | undefined;
  readonly counter: NlriCounter;
  established: boolean;
  keepaliveTimer: NodeJS.Timeout | undefined;
}

let established = 0;
let done = false;

function startSession(spec: PeerSessionSpec): Peer {
  const peer: Peer = {
    sock: connect({ host: data.host, port: data.port, localAddress: spec.localAddress }),
    updates:
      data.role === 'inject'
        ? buildUpdates({
            count: data.count,
            base: spec.base,
            localAs: spec.asn,
            nextHop: spec.localAddress,
            attrSets: data.attrSets,
            shuffle: data.shuffle,
            ...(data.perUpdate !== undefined && { perUpdate: data.perUpdate }),
          })
        : undefined,
    counter: new NlriCounter(spec.base, data.count),
    established: false,
    keepaliveTimer: undefined,
  };
  const { sock, counter } = peer;
  sock.setNoDelay(true);
  sock.on('connect', () => sock.write(encodeOpen(spec.asn, spec.routerId, 240)));
  sock.on('data', (chunk: Buffer) => {
    let types: number[];
    try {
      types = counter.push(chunk);
    } catch (err) {
      post({ ev: 'error', message: String(err) });
      sock.destroy();
      return;
    }
    for (const t of types) {
      if (t === TYPE.OPEN) sock.write(encodeKeepalive());
      else if (t === TYPE.KEEPALIVE && !peer.established) {
        peer.established = true;
        peer.keepaliveTimer = setInterval(() => sock.write(encodeKeepalive()), 20_000);
        if (++established === data.sessions.length) post({ ev: 'established', t: now() });
      } else if (t === TYPE.NOTIFICATION) {
        post({ ev: 'error', message: `NOTIFICATION ${counter.notification?.code}/${counter.notification?.subcode}` });
      }
    }
    if (data.role === 'collect' && !done && counter.distinct === data.count) {
      done = true;
      post({ ev: 'done', t: now(), updates: counter.updates });
    }
  });
  sock.on('error', (err) => post({ ev: 'error', message: `${spec.localAddress}: ${err.message}` }));
  sock.on('close', () => {
    if (peer.keepaliveTimer) clearInterval(peer.keepaliveTimer);
    post({ ev: 'closed', distinct: counter.distinct });
  });
  return peer;
}

const peers = data.sessions.map(startSession);

port.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'go' && data.role === 'inject') {
    const t0 = now();
    let pending = peers.length;
    let messages = 0;
    for (const p of peers) {
      messages += p.updates!.messages;
      p.sock.write(p.updates!.buf, () => {
        if (--pending === 0) post({ ev: 'sent', t0, t: now(), messages });
      });
    }
  } else if (m.cmd === 'progress') {
    post({ ev: 'progress', distinct: peers.reduce((n, p) => n + p.counter.distinct, 0) });
  } else if (m.cmd === 'close') {
    for (const p of peers) {
      if (p.keepaliveTimer) clearInterval(p.keepaliveTimer);
      p.sock.destroy();
    }
  }
});
