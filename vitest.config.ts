// Test runner configuration: unit tests next to the code, end-to-end suites under e2e/.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{shared,server,client}/**/*.test.ts', 'e2e/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    server: { deps: { inline: [/p2p-media-loader/] } },
  },
});
