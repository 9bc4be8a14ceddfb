// Test runner configuration: unit tests next to the code, end-to-end suites under e2e/.
import { defineConfig } from 'vitest/config';
import { FlakyReporter } from './e2e/support/flaky-reporter.ts';

export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    server: { deps: { inline: [/p2p-media-loader/] } },
    reporters: ['default', new FlakyReporter()],
    projects: [
      { extends: true, test: { name: 'unit', include: ['{shared,server,client}/**/*.test.ts'] } },
      // Real browsers, encoders and network namespaces on two shared cores: an end-to-end test that fails is run once
      // more, and one that passes only then is named at the end of the run (FlakyReporter). Unit tests never retry.
      { extends: true, test: { name: 'e2e', include: ['e2e/**/*.test.ts'], retry: 1 } },
    ],
  },
});
