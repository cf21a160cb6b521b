import { defineConfig } from 'vitest/config';

// Two suites: unit tests sit beside the code; integration tests live in test/ and use
// real kube-apiservers, real TLS and real sockets, so they run a few files at a time.
export default defineConfig({
  test: {
    setupFiles: ['./test/setup-crypto.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['{certs,broker,agent,crds,bin,cli,scripts}/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          // Real nodes need root, containerd and the lab images: their own run (test:nodes).
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
