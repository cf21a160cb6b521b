import { defineConfig } from 'vitest/config';

// Four suites: unit tests sit beside the code; integration and e2e tests live in test/ and
// use real kube-apiservers, real TLS and real sockets, so they run a few files at a time;
// e2e (test/e2e/: a broker and agents across several API servers) runs on its own, and the
// real-node files (test/**/real-nodes*.test.ts, e2e ones included) run in `nodes`.
export default defineConfig({
  test: {
    setupFiles: ['./test/setup-crypto.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['{certs,broker,agent,gateway,crds,bin,cli,scripts}/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          // Real nodes need root, containerd and the lab images: their own run (test:nodes).
          // e2e (broker + agents + several API servers) is its own run too (test:e2e).
          exclude: ['test/**/real-nodes*.test.ts', 'test/e2e/**'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          pool: 'forks',
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          exclude: ['test/**/real-nodes*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          pool: 'forks',
        },
      },
      {
        extends: true,
        test: {
          name: 'nodes',
          include: ['test/**/real-nodes*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },   // one lab at a time: two cores
        },
      },
    ],
  },
});
