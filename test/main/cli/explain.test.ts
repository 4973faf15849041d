import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { explanationSchema } from '../../../main/providers/xero/explain.js';
import { spawnCli, type CliResult } from '../../support/relink-cli.js';

/**
 * `relink explain "…"` needs neither a keychain nor a profile: every run here has DBUS_SESSION_BUS_ADDRESS
 * removed from its environment and points --data-dir at a folder that must not be created.
 */

const noProfile = path.join(os.tmpdir(), `relink-explain-never-created-${process.pid}`);

async function explain(args: string[]): Promise<CliResult> {
  const r = await spawnCli(['--data-dir', noProfile, 'explain', ...args], { env: { DBUS_SESSION_BUS_ADDRESS: undefined } }).exited;
  expect(fs.existsSync(noProfile)).toBe(false);
  return r;
}

const CASES: Array<{ text: string; cause: string | null; action: string; codes: string[]; title: RegExp }> = [
  { text: 'invalid_grant', cause: 'grant-revoked', action: 'reconnect', codes: ['invalid_grant'], title: /signed in again/ },
  {
    text: '{"error":"invalid_client"}',
    cause: 'credentials-rotated',
    action: 'update-app-credentials',
    codes: ['invalid_client'],
    title: /no longer accepts the app's credentials/,
  },
  {
    text: 'HTTP 429 Too Many Requests\nX-Rate-Limit-Problem: day\nRetry-After: 3600',
    cause: 'rate-limited',
    action: 'wait',
    codes: ['HTTP 429', 'X-Rate-Limit-Problem', 'limit: day'],
    title: /allowance/,
  },
  {
    text: 'unauthorized_client : Invalid redirect_uri',
    cause: null,
    action: 'update-app-credentials',
    codes: ['unauthorized_client', 'Invalid redirect_uri'],
    title: /return address/,
  },
  {
    text: '401 TokenExpired: token expired at 01/02/2025 10:00:00',
    cause: null,
    action: 'none',
    codes: ['HTTP 401', 'TokenExpired'],
    title: /routine/,
  },
];

describe('relink explain (no keychain, no profile)', () => {
  for (const c of CASES) {
    it(`explains ${JSON.stringify(c.text.split('\n')[0])} in words and as JSON`, async () => {
      const json = await explain([c.text, '--json']);
      expect(json.code, json.stderr).toBe(0);
      expect(json.stderr).toBe('');
      const e = explanationSchema.parse(JSON.parse(json.stdout));
      expect(e).toMatchObject({ matched: true, cause: c.cause, action: c.action, codes: c.codes });
      expect(e.title).toMatch(c.title);

      const words = await explain([c.text]);
      expect(words.code, words.stderr).toBe(0);
      expect(words.stdout.split('\n')[0]).toBe(e.title);
      expect(words.stdout).toContain(`What happened: ${e.whatHappened}`);
      expect(words.stdout).toContain(`What to do: ${e.fix}`);
      if (e.cause) expect(words.stdout).toContain(`Cause: ${e.cause} (${e.confidence})`);
    });
  }

  it('says so, with general guidance, when it recognises nothing', async () => {
    const r = await explain(['the weather is nice today', '--json']);
    expect(r.code).toBe(0);
    const e = explanationSchema.parse(JSON.parse(r.stdout));
    expect(e).toMatchObject({ matched: false, cause: null, codes: [] });
    expect(e.fix.length).toBeGreaterThan(10);
  });

  it('never repeats a token or secret pasted along with the error', async () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZGEiLCJ4ZXJvX3VzZXJpZCI6IjEyMyJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
    const rt = 'a9f3c2e1d0b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0';
    const pasted = `POST /connect/token\nAuthorization: Bearer ${jwt}\nrefresh_token=${rt}&client_secret=s3cr3t-ABCDEF123456\n400 {"error":"invalid_grant"}`;
    for (const args of [[pasted], [pasted, '--json']]) {
      const r = await explain(args);
      expect(r.code).toBe(0);
      const all = r.stdout + r.stderr;
      for (const secret of [jwt, rt, 's3cr3t-ABCDEF123456', 'Bearer ']) expect(all).not.toContain(secret);
    }
    const e = explanationSchema.parse(JSON.parse((await explain([pasted, '--json'])).stdout));
    expect(e.cause).toBe('grant-revoked');
  });

  it('without the text: exit 2 and how to call it', async () => {
    const r = await explain([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('explain needs the error text in quotes: relink explain "invalid_grant"');
    const two = await explain(['one', 'two']);
    expect(two.code).toBe(2);
    expect(two.stderr).toContain('Unexpected argument "two".');
  });
});
