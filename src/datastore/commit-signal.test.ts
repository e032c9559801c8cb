import { execFileSync } from 'node:child_process';
import {
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { COMMIT_SIGNAL_SUFFIX, CommitSignal } from './commit-signal.js';

const root = mkdtempSync(join(tmpdir(), 'mgy-signal-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const db = (): string => {
  const dir = join(root, String(n++));
  mkdirSync(dir);
  return join(dir, 'store.db');
};

describe('CommitSignal: the file a writer touches after each commit', () => {
  it('creates <db>-commit and rewrites one byte per commit (an inotify event each, the file stays 1 byte)', () => {
    const path = db();
    const s = new CommitSignal(path);
    s.notify();
    s.notify();
    const file = `${path}${COMMIT_SIGNAL_SUFFIX}`;
    expect(statSync(file).size).toBe(1);
    expect(statSync(file).isFile()).toBe(true);
    s.close();
    s.notify(); // reopens after close
    expect(readFileSync(file, 'utf8')).toBe('1');
    s.close();
  });

  it('never follows a symlink planted in its place, and turns itself off', () => {
    const path = db();
    const target = join(root, `victim-${n}`);
    writeFileSync(target, 'keep me');
    symlinkSync(target, `${path}${COMMIT_SIGNAL_SUFFIX}`);
    const s = new CommitSignal(path);
    s.notify();
    s.notify();
    expect(readFileSync(target, 'utf8')).toBe('keep me');
    expect(lstatSync(`${path}${COMMIT_SIGNAL_SUFFIX}`).isSymbolicLink()).toBe(true);
    s.close();
  });

  it('never writes a file planted under its name that is not its own: a hard link, one with content', () => {
    const path = db();
    const victim = join(root, `victim-hl-${n}`);
    writeFileSync(victim, 'x');
    linkSync(victim, `${path}${COMMIT_SIGNAL_SUFFIX}`); // one byte, but two links
    const s = new CommitSignal(path);
    s.notify();
    expect(readFileSync(victim, 'utf8')).toBe('x');
    s.close();
    const other = db();
    writeFileSync(`${other}${COMMIT_SIGNAL_SUFFIX}`, 'precious data');
    const t = new CommitSignal(other);
    t.notify();
    expect(readFileSync(`${other}${COMMIT_SIGNAL_SUFFIX}`, 'utf8')).toBe('precious data');
    t.close();
  });

  it('does not block on a FIFO in its place, nor write into a directory', () => {
    const fifo = db();
    execFileSync('mkfifo', [`${fifo}${COMMIT_SIGNAL_SUFFIX}`]);
    const s = new CommitSignal(fifo);
    const t0 = performance.now();
    s.notify(); // no reader: an O_NONBLOCK open fails at once (a blocking one would hang here)
    s.notify();
    expect(performance.now() - t0).toBeLessThan(1000);
    s.close();
    const dir = db();
    mkdirSync(`${dir}${COMMIT_SIGNAL_SUFFIX}`);
    const d = new CommitSignal(dir);
    d.notify();
    expect(statSync(`${dir}${COMMIT_SIGNAL_SUFFIX}`).isDirectory()).toBe(true);
    d.close();
  });
});
