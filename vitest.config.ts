import { defineConfig } from 'vitest/config';

// Two projects keep the kinds of test apart:
//   unit        — pure code beside its source, no root, no sockets, no real kernel.
//   integration — test/**/*.int.test.ts, real kernel in network namespaces the test creates.
//                 Run through scripts/in-sandbox.sh (private net + mount namespace), as root.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{src,agent,bgp,ipam,policy,cni}/**/*.test.ts', 'test/**/*.unit.test.ts'],
          environment: 'node',
          // Property tests and child-process tests get slow on a loaded 2-core machine; a hang still fails.
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.int.test.ts'],
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
          testTimeout: 60_000,
          hookTimeout: 60_000,
          globalSetup: ['test/helpers/global-setup.ts'],
        },
      },
    ],
  },
});
