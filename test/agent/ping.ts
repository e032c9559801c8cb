import { spawn } from 'node:child_process';
import type { Pod } from './cluster.js';

/** A ping every 50 ms from one pod to another until stop(); returns sent/received from ping's summary. */
export function continuousPing(
  from: Pod,
  to: Pod,
): { stop(): Promise<{ sent: number; received: number; text: string }> } {
  return pingLoop(from.ns, to.ip, 0.05);
}

/** A ping every `intervalS` seconds from namespace `ns` to `ip` until stop(); sent/received from ping's summary. */
export function pingLoop(
  ns: string,
  ip: string,
  intervalS: number,
): { stop(): Promise<{ sent: number; received: number; text: string }> } {
  const p = spawn('ip', ['netns', 'exec', ns, 'ping', '-i', String(intervalS), '-W', '1', ip], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return {
    async stop() {
      const done = new Promise<void>((r) => p.once('exit', () => r()));
      p.kill('SIGINT');
      await done;
      const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
      return { sent: Number(m?.[1] ?? 0), received: Number(m?.[2] ?? -1), text: out.split('\n').slice(-4).join('\n') };
    },
  };
}
