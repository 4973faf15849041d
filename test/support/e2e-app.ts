import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import type { SeedRequest } from '../../main/sandbox/xero/seeds.js';
import { HAS_SECRET_SERVICE, NO_SECRET_SERVICE_REASON, newProfile, startBrowserMode, stopLeftovers, type BrowserMode, type E2eProfile } from './browser-mode.js';
import { startTestSandbox, type TestSandbox } from './sandbox.js';

/**
 * What a browser-mode spec starts — Relink in browser mode, sandboxes, profiles, scratch folders — each
 * remembered as it starts and all torn down together after each test (or, with `until: 'file'`, after the last):
 * every browser-mode run must stop cleanly on SIGINT (exit 0; its stderr is shown otherwise), then its profile
 * and every other one is deleted (keychain entries included), the sandboxes are closed, anything a failed test
 * left running is killed and the scratch folders are removed. One failure there does not skip the rest.
 *
 *   const e2e = useE2eApp({ until: 'file', needsKeychain: true });
 *   test.beforeAll(async () => { demo = await e2e.browserMode({ demo: true }); });
 */
export interface E2eApp {
  browserMode(opts?: Parameters<typeof startBrowserMode>[0]): Promise<BrowserMode>;
  sandbox(seed?: SeedRequest): Promise<TestSandbox>;
  profile(label?: string): E2eProfile;
  /** A new empty folder under the system's temporary folder. */
  scratchDir(label: string): string;
}

export function useE2eApp(opts: { until?: 'test' | 'file'; needsKeychain?: boolean } = {}): E2eApp {
  // Browser mode keeps the firm's sign-ins in the system keychain: without a Secret Service the spec cannot run.
  if (opts.needsKeychain) test.skip(!HAS_SECRET_SERVICE, NO_SECRET_SERVICE_REASON);
  const runs: BrowserMode[] = [];
  const sandboxes: TestSandbox[] = [];
  const profiles: E2eProfile[] = [];
  const dirs: string[] = [];

  const tearDown = async () => {
    const failures: unknown[] = [];
    const attempt = async (step: () => unknown) => {
      try {
        await step();
      } catch (e) {
        failures.push(e);
      }
    };
    for (const run of runs.splice(0)) await attempt(() => stopCleanly(run));
    for (const profile of new Set(profiles.splice(0))) await attempt(() => profile.dispose());
    for (const sb of sandboxes.splice(0)) await attempt(() => sb.close());
    await attempt(stopLeftovers);
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
    if (failures.length > 0) throw failures[0];
  };
  if (opts.until === 'file') test.afterAll(tearDown);
  else test.afterEach(tearDown);

  const profile = (label?: string) => {
    const made = newProfile(label);
    profiles.push(made);
    return made;
  };
  return {
    profile,
    async browserMode(options = {}) {
      const run = await startBrowserMode({ ...options, profile: options.profile ?? profile() });
      runs.push(run);
      profiles.push(run.profile);
      return run;
    },
    async sandbox(seed = { seed: 'empty' }) {
      const sb = await startTestSandbox(seed);
      sandboxes.push(sb);
      return sb;
    },
    scratchDir(label) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `relink-${label}-`));
      dirs.push(dir);
      return dir;
    },
  };
}

/** SIGINT, and the run must exit 0 (its stderr shown otherwise). Its profile is left to the caller. */
async function stopCleanly(run: BrowserMode): Promise<void> {
  const stopped = await run.stop();
  expect({ ...stopped, stderr: run.stderr() }, 'browser mode stops cleanly on SIGINT').toMatchObject({ code: 0 });
}
