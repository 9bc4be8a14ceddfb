// Test runner configuration: unit tests next to the code, end-to-end suites under e2e/.
import { configDefaults, defineConfig } from 'vitest/config';
import { FlakyReporter } from './e2e/support/flaky-reporter.ts';

/** Suites beside the code that open real WebRTC sessions (node-datachannel peers, the server with publishers). */
const REAL_WEBRTC = [
  'server/ingest/test/ingest.test.ts',
  'server/ingest/test/publish-session.test.ts',
  'server/ingest/test/multi-channel.test.ts',
  'server/ingest/whip/test/whip-session.test.ts',
  'server/ingest/whip/test/whip-feedback.test.ts',
  'server/app.test.ts',
  'client/broadcaster/test/broadcaster.test.ts',
];

export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    server: { deps: { inline: [/p2p-media-loader/] } },
    reporters: ['default', new FlakyReporter()],
    projects: [
      { extends: true, test: { name: 'unit', include: ['{shared,server,client}/**/*.test.ts'], exclude: [...configDefaults.exclude, ...REAL_WEBRTC] } },
      // Real browsers, real WebRTC (libdatachannel over loopback, which now and then refuses a good answer), encoders
      // and network namespaces on two shared cores: such a test that fails is run once more, and one that passes only
      // then is named at the end of the run (FlakyReporter). Unit tests on bytes and logic never retry.
      { extends: true, test: { name: 'e2e', include: ['e2e/**/*.test.ts', ...REAL_WEBRTC], retry: 1 } },
    ],
  },
});
