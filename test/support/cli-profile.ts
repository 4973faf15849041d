import fs from 'node:fs';
import { afterAll, afterEach } from 'vitest';
import { HEADLESS_BROWSER, Profile, arrangeConsent, stopLeftovers, type CliResult } from './relink-cli.js';
import type { TestSandbox } from './sandbox.js';
import { useSandbox } from './use-sandbox.js';

/**
 * What a `relink` CLI test file sets up: profiles that are cleaned up (their keychain entries, then their folder)
 * once any CLI process a test left running is stopped, and, when the file talks to Xero, one sandbox for the
 * file (see use-sandbox.ts).
 *
 *   const { sb, profile } = useCliProfiles('connect', { sandbox: 'reset-each-test' });
 *   it('…', async () => { const p = profile(); … });
 */
export interface CliProfiles {
  /** The file's sandbox; only with the `sandbox` option, and only inside tests and hooks. */
  sb: TestSandbox;
  /** A fresh profile (its own data folder and keychain service name), labelled as the file says unless given. */
  profile(label?: string, env?: Record<string, string>): Profile;
}

export function useCliProfiles(
  label: string,
  opts: {
    /** `reset-each-test`: an empty world before every test; `shared`: one world for the file. Default: none. */
    sandbox?: 'reset-each-test' | 'shared';
    /** When the profiles are cleaned up: after each test (default), or after the last one. */
    cleanUp?: 'after-each' | 'after-all';
  } = {},
): CliProfiles {
  const sb = opts.sandbox
    ? useSandbox({ resetEachTest: opts.sandbox === 'reset-each-test' })
    : new Proxy({} as TestSandbox, {
        get() {
          throw new Error(`This file has no sandbox: useCliProfiles('${label}', { sandbox: … }) starts one.`);
        },
      });
  const profiles: Profile[] = [];
  const cleanUp = async () => {
    await stopLeftovers();
    for (const p of profiles.splice(0)) await p.cleanup();
  };
  if (opts.cleanUp === 'after-all') afterAll(cleanUp);
  else afterEach(cleanUp);
  return {
    sb,
    profile(name = label, env = {}) {
      const p = new Profile(name, env);
      profiles.push(p);
      return p;
    },
  };
}

/** Writes `doc` (see seeded-metadata.ts) as the profile's relink.json, as an earlier Relink would have left it. */
export function seedProfile(p: Profile, doc: unknown): void {
  fs.mkdirSync(p.dataDir, { recursive: true });
  fs.writeFileSync(p.metadataPath, JSON.stringify(doc, null, 2));
}

/**
 * Connects an app the profile already added, as `userId` for `tenantIds`: a consent arranged in the sandbox, then
 * `relink connect APP` with the headless browser, which must exit 0.
 */
export async function connectAs(p: Profile, sb: TestSandbox, app: { id: string; clientId: string }, userId: string, tenantIds: string[]): Promise<CliResult> {
  await arrangeConsent(sb, app.clientId, userId, tenantIds);
  return p.ok(['connect', app.id, '--browser', HEADLESS_BROWSER, '--timeout', '20']);
}
