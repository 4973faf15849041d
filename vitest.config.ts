import { defineConfig } from 'vitest/config';

// Unit and integration tests. Integration tests talk to a real sandbox over loopback HTTP, so they get a
// generous timeout; end-to-end specs (test/e2e) belong to Playwright and are excluded here.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'node_modules/**'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    reporters: ['default'],
  },
});
