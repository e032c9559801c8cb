/**
 * A benchmark peer in its own worker thread, so injecting and collecting never wait on each other:
 *   inject  — establishes an eBGP session, then on 'go' writes every prebuilt UPDATE in one go;
 *   collect — establishes a session and reports when all N prefixes have been announced to it.
 * Messages to the parent: { ev: 'established' | 'sent' | 'done' | 'error' | 'closed', t?: epoch ms, ... }.
 */
import { connect, type Socket } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { NlriCounter, TYPE, buildUpdates, encodeKeepalive, encodeOpen } from './bgp-wire.js';

export interface PeerWorkerData {
  readonly role: 'inject' | 'collect';
  readonly host: string;
  readonly port: number;
  readonly localAddress: string;
  readonly asn: number;
  readonly routerId: string;
  readonly count: number;
  readonly base: number;
  readonly attrSets: number;
  readonly shuffle: boolean;
  readonly perUpdate?: number;
}

const now = (): number => performance.timeOrigin + performance.now();
const data = workerData as PeerWorkerData;
const port = parentPort!;
const post = (m: Record<string, unknown>): void => port.postMessage(m);

const updates =
  data.role === 'inject'
    ? buildUpdates({
        count: data.count,
        base: data.base,
        localAs: data.asn,
        nextHop: data.localAddress,
        attrSets: data.attrSets,
        shuffle: data.shuffle,
        ...(data.perUpdate !== undefined && { perUpdate: data.perUpdate }),
      })
    : undefined;
const counter = new NlriCounter(data.base, data.count);
let established = false;
let done = false;
let keepaliveTimer: NodeJS.Timeout | undefined;

const sock: Socket = connect({ host: data.host, port: data.port, localAddress: data.localAddress });
sock.setNoDelay(true);
sock.on('connect', () => sock.write(encodeOpen(data.asn, data.routerId, 240)));
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
    else if (t === TYPE.KEEPALIVE && !established) {
      established = true;
      keepaliveTimer = setInterval(() => sock.write(encodeKeepalive()), 20_000);
      post({ ev: 'established', t: now() });
    } else if (t === TYPE.NOTIFICATION) {
      post({ ev: 'error', message: `NOTIFICATION ${counter.notification?.code}/${counter.notification?.subcode}` });
    }
  }
  if (data.role === 'collect' && !done && counter.distinct === data.count) {
    done = true;
    post({ ev: 'done', t: now(), updates: counter.updates });
  }
});
sock.on('error', (err) => post({ ev: 'error', message: err.message }));
sock.on('close', () => {
  if (keepaliveTimer) clearInterval(keepaliveTimer);
  post({ ev: 'closed', distinct: counter.distinct });
});

port.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'go' && updates) {
    const t0 = now();
    sock.write(updates.buf, () => post({ ev: 'sent', t0, t: now(), messages: updates.messages }));
  } else if (m.cmd === 'progress') {
    post({ ev: 'progress', distinct: counter.distinct });
  } else if (m.cmd === 'close') {
    if (keepaliveTimer) clearInterval(keepaliveTimer);
    sock.destroy();
  }
});
