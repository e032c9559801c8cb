/**
 * Memory settings margay-node runs with, as margay-bgpd does (bgp/main.ts). V8 sizes its young
 * generation when the heap is created and glibc reads MALLOC_MMAP_THRESHOLD_ at its first malloc, so
 * they must be in place before Node starts: the npm bin's launcher (scripts/bundle.mjs) starts Node
 * with them through its `#!/usr/bin/env -S` line and sets TUNED_ENV, and a process started any other
 * way (`node dist/bin/margay-node.js`) re-executes itself once, same pid (agent/main.ts) — a second
 * Node start, ≈ 130 ms of CPU (test/bench/agent-cold.ts), so supervisors should run the bin as a
 * program. Measured with test/bench/agent-scale.ts (docs/agent.md): most of the default RSS was an
 * idle 32–64 MB young generation. No side effects: scripts/bundle.mjs imports this file.
 */
/** Marks the tuned image; setting it yourself disables the re-exec. */
export const TUNED_ENV = 'MARGAY_NODE_TUNED';
export const TUNED_V8_FLAGS = ['--max-semi-space-size=2'] as const;
export const TUNED_MALLOC_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '131072' };
