/**
 * TCP-MD5 (RFC 2385) and GTSM (RFC 5082) socket options through a small N-API addon (sockopt.c, built
 * by node-gyp: `npm run build:native`). Node's net module cannot set them, and both must be in place
 * before the SYN: for outgoing connections the addon creates the socket, the options are set, and only
 * then is the fd wrapped in a net.Socket and connected (see transport.ts).
 *
 * The addon loads lazily: a speaker that uses neither MD5 nor GTSM runs without it.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MargayError, PrerequisiteError } from '../../src/errors.js';

interface Addon {
  setMd5(fd: number, address: string, key: string, prefixLen: number): void;
  setTtl(fd: number, ttl: number): void;
  setMinTtl(fd: number, minTtl: number): void;
  setRcvBuf(fd: number, bytes: number): void;
  createSocket(family: 4 | 6, localAddress: string, localPort: number): number;
  closeFd(fd: number): void;
  execve(file: string, argv: readonly string[], env: readonly string[]): never;
  setMallocTrimThreshold(bytes: number): boolean;
  releaseFilePages(start: number, length: number): void;
}

/** A socket option could not be set (the kernel said no). */
export class SocketOptionError extends MargayError {
  readonly code = 'MGY_SOCKOPT';
  constructor(
    readonly op: string,
    options?: ErrorOptions,
  ) {
    super(`${op} failed`, options);
  }
}

const ADDON_FILE = 'margay_sockopt.node';
let addon: Addon | undefined;

/** Where the built addon may be: beside this file's source (tsx/vitest) or from dist/bgp/native. */
function addonCandidates(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  return [
    join(here, 'build', 'Release', ADDON_FILE),
    join(here, '..', '..', '..', 'bgp', 'native', 'build', 'Release', ADDON_FILE),
  ];
}

function load(): Addon {
  if (addon) return addon;
  const path = addonCandidates().find((p) => existsSync(p));
  if (!path) {
    throw new PrerequisiteError(
      `the socket-option addon (${ADDON_FILE}) is not built; run \`npm run build:native\` (TCP-MD5 and GTSM need it)`,
    );
  }
  addon = createRequire(import.meta.url)(path) as Addon;
  return addon;
}

/** True when the addon is built and loadable. */
export function isSockoptAvailable(): boolean {
  return addonCandidates().some((p) => existsSync(p));
}

function call<T>(op: string, fn: (a: Addon) => T): T {
  const a = load();
  try {
    return fn(a);
  } catch (err) {
    throw new SocketOptionError(op, { cause: err });
  }
}

/**
 * Installs (or with `key` undefined/empty, removes) the TCP-MD5 key for `peer` on `fd`. On a listening
 * socket this covers incoming connections from that peer; `prefixLen` makes it cover a range
 * (dynamic neighbours, TCP_MD5SIG_EXT).
 */
export function setTcpMd5(fd: number, peer: string, key: string | undefined, prefixLen?: number): void {
  call(`TCP_MD5SIG ${peer}${prefixLen !== undefined ? `/${prefixLen}` : ''}`, (a) =>
    a.setMd5(fd, peer, key ?? '', prefixLen ?? -1),
  );
}

/** GTSM on `fd`: send with TTL/hop limit 255 and drop anything that arrived from more than `hops` away. */
export function setGtsm(fd: number, hops: number): void {
  call('IP_TTL 255', (a) => a.setTtl(fd, 255));
  call(`IP_MINTTL ${256 - hops}`, (a) => a.setMinTtl(fd, 256 - hops));
}

/** Outgoing TTL / hop limit only. */
export function setTtl(fd: number, ttl: number): void {
  call(`IP_TTL ${ttl}`, (a) => a.setTtl(fd, ttl));
}

/** Minimum incoming TTL / hop limit only (1 = no filter). */
export function setMinTtl(fd: number, minTtl: number): void {
  call(`IP_MINTTL ${minTtl}`, (a) => a.setMinTtl(fd, minTtl));
}

/**
 * SO_RCVBUF on `fd` (the kernel doubles it for its bookkeeping): caps what the kernel holds for us and
 * turns off its autotuning, so a peer that outruns the reader is pushed back by TCP early (session
 * back-pressure, bgp/session/connection.ts).
 */
export function setRecvBuffer(fd: number, bytes: number): void {
  call(`SO_RCVBUF ${bytes}`, (a) => a.setRcvBuf(fd, bytes));
}

/** A fresh non-blocking TCP socket fd, bound to `localAddress` when given, for options-before-connect. */
export function createTcpSocket(family: 4 | 6, localAddress?: string, localPort = 0): number {
  return call('socket/bind', (a) => a.createSocket(family, localAddress ?? '', localPort));
}

/** Closes an fd made by createTcpSocket that never got wrapped in a net.Socket. */
export function closeFd(fd: number): void {
  call('close', (a) => a.closeFd(fd));
}

/**
 * Replaces the process image (execve(2)); returns only by throwing. margay-bgpd uses it to restart
 * itself with V8 flags that cannot be changed at run time (see bgp/main.ts).
 */
export function execve(file: string, argv: readonly string[], env: readonly string[]): never {
  return call('execve', (a) => a.execve(file, argv, env));
}

/**
 * glibc's M_TRIM_THRESHOLD (mallopt(3)) for this process: free memory at the top of a malloc heap up
 * to `bytes` stays mapped for reuse instead of going back to the kernel. False when it could not be set
 * (no glibc mallopt). margay-bgpd sets it at start (bgp/main.ts) rather than by MALLOC_TRIM_THRESHOLD_
 * in its launcher's `#!` line, which has no room left for it.
 */
export function setMallocTrimThreshold(bytes: number): boolean {
  return call(`M_TRIM_THRESHOLD ${bytes}`, (a) => a.setMallocTrimThreshold(bytes));
}

/**
 * madvise(MADV_DONTNEED) on `length` bytes at `start` (page-aligned): for a clean, read-only file
 * mapping the pages leave this process's resident set and stay in the page cache, so the next touch
 * maps them again from there. Never for a mapping with private (written) pages: those would be lost.
 * See startup-pages.ts.
 */
export function releaseFilePages(start: number, length: number): void {
  call(`madvise ${start.toString(16)}+${length}`, (a) => a.releaseFilePages(start, length));
}
