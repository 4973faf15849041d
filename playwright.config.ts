import { accessSync, constants } from 'node:fs';
import { defineConfig } from '@playwright/test';

// End-to-end specs run in Debian's Chromium, never in a browser Playwright downloads: this project's machines
// (developers' and CI's) reach only the npm registry and Debian's apt repositories, so `npx playwright install`
// cannot work here. .ci/run installs the `chromium` package; CHROMIUM_PATH points elsewhere if you need to.
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

try {
  accessSync(chromiumPath, constants.X_OK);
} catch {
  throw new Error(
    `Chromium was not found at ${chromiumPath}. Install Debian's build with \`apt-get install chromium\` ` +
      '(bash .ci/run does this), or set CHROMIUM_PATH to a Chromium executable.',
  );
}

export default defineConfig({
  testDir: 'test/e2e',
  outputDir: 'test-results/e2e',
  // `list` prints one line per test and Playwright's own closing summary; the JSON report feeds the suite's
  // one-line total (test/support/summary.mjs).
  reporter: [['list'], ['json', { outputFile: 'test-results/playwright.json' }]],
  // The machines have 2 cores; two browsers at once is the most they take without tests timing out.
  workers: process.env.CI ? 1 : 2,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 30_000,
  expect: { timeout: 5_000 },
  use: {
    browserName: 'chromium',
    headless: true,
    viewport: { width: 1280, height: 800 },
    screenshot: 'only-on-failure',
    trace: 'off',
    launchOptions: {
      executablePath: chromiumPath,
      args: [
        // We run as root in CI, where Chromium refuses to start with its sandbox on.
        '--no-sandbox',
        // No GPU on these machines; software rendering avoids GPU-process crashes and their noise.
        '--disable-gpu',
        // The network is closed except for the package registries. Without the next flags Chromium keeps
        // opening connections to Google's services (QUIC, background fetches, component and sync updates),
        // which the machine refuses, many at a time, cluttering logs and slowing startup.
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
});
