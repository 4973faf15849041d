import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { statusSnapshotSchema } from '../../../shared/api.js';
import { NEEDS_KEYCHAIN, addAndConnect, backdateGrants, cliWorld, hasSecretService, until } from '../../support/relink-cli.js';
import { useCliProfiles } from '../../support/cli-profile.js';

/**
 * No secret ever leaves the keychain. A whole scenario with a web app (which has a client secret) — add it,
 * connect, check, status, run for a while, then the secret rotated behind Relink's back so the error paths
 * print too — while every refresh token the keychain ever held is collected after each step. Then every
 * surface a person or a support ticket could see is searched: everything the CLI printed, the activity log,
 * the metadata file and its last good copy, anything else in the data folder, and the status JSON.
 */

const { sb, profile } = useCliProfiles('secrets', { sandbox: 'reset-each-test' });

const MARKERS = ['Bearer ', 'Authorization', 'access_token', 'refresh_token', 'code='];
/** Any JWT (Xero's access and id tokens are JWTs): their text can't be collected, but their shape can. */
const JWT = /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/;

describe('secrets never leave the keychain', () => {
  it.skipIf(!hasSecretService)(`no client secret, refresh token or token marker in any output, log or file${NEEDS_KEYCHAIN}`, async () => {
    const p = profile();
    const w = await cliWorld(sb, { type: 'web', orgs: 2 });
    const secrets = new Set<string>([w.clientSecret!]);
    const statusJsons: string[] = [];
    const vault = p.vault();
    const collect = async () => {
      for (const id of Object.keys(p.metadata().grants)) {
        const g = await vault.readGrant(id);
        if (g?.refreshToken) secrets.add(g.refreshToken);
        if (g?.previous) secrets.add(g.previous);
      }
    };

    const appId = await addAndConnect(p, sb, w, 'Harbour Reporting');
    expect(await vault.readClientSecret(appId)).toBe(w.clientSecret);
    await collect();
    await p.ok(['apps', 'list']);
    await p.ok(['apps', 'list', '--json']);
    await p.ok(['check']);
    await collect();
    await p.ok(['check', '--json']);
    await collect();
    statusJsons.push((await p.ok(['status', '--json'])).stdout);
    await p.ok(['status']);

    // run for a while, with the grant overdue so it really refreshes, then Ctrl-C.
    backdateGrants(p, 48);
    const refreshesBefore = (await sb.control('GET', '/sandbox/state')).grants[0].lastRefreshAt;
    const run = p.spawn(['run']);
    await run.waitFor('stdout', /Relink is keeping 1 grant alive/, 20_000);
    await until('run to refresh', async () => (await sb.control('GET', '/sandbox/state')).grants[0].lastRefreshAt !== refreshesBefore, 25_000);
    run.child.kill('SIGINT');
    expect((await run.exited).code).toBe(0);
    await collect();

    // The app's secret is rotated in Xero's portal: the error paths print and log too.
    const { clientSecret: rotated } = await sb.control('POST', `/sandbox/apps/${w.clientId}/secret`);
    secrets.add(rotated);
    const rejected = await p.run(['check', '--json']);
    // Xero rejected the app's credentials in this pass: exit 5 (not authorised).
    expect(rejected.code, rejected.stderr).toBe(5);
    expect(JSON.parse(rejected.stdout).summary).toMatchObject({ appRejected: 1 });
    const broken = (await p.ok(['status', '--json'])).stdout;
    statusJsons.push(broken);
    expect(statusSnapshotSchema.parse(JSON.parse(broken)).incidents.map((i) => i.cause)).toContain('credentials-rotated');
    await p.ok(['status']);
    await collect();

    // The scenario produced what it should have: several rotations, each one collected.
    const refreshTokens = [...secrets].filter((s) => s !== w.clientSecret && s !== rotated);
    expect(refreshTokens.length).toBeGreaterThanOrEqual(4);

    const surfaces: Array<[string, string]> = [
      ...p.transcript.map((t, i) => [`cli output #${i}`, t] as [string, string]),
      ...statusJsons.map((s, i) => [`status --json #${i}`, s] as [string, string]),
      ...p.files().map((f) => [f, fs.readFileSync(path.join(p.dataDir, f), 'utf8')] as [string, string]),
    ];
    const names = surfaces.map(([n]) => n);
    expect(names).toEqual(expect.arrayContaining(['activity.jsonl', 'relink.json', 'relink.last-good.json']));
    expect(p.transcript.length).toBeGreaterThanOrEqual(2 * 12);
    expect(fs.readFileSync(path.join(p.dataDir, 'activity.jsonl'), 'utf8')).toMatch(/app-credentials-rejected/);

    // A positive control: the scan reads real content (ids and words are there; only secrets are not).
    const grantId = Object.keys(p.metadata().grants)[0]!;
    const all = surfaces.map(([, t]) => t).join('\n');
    expect(all).toContain(grantId);
    expect(all).toContain(w.clientId);
    expect(all).toContain('Checked 1 grant');

    for (const [name, text] of surfaces) {
      for (const s of secrets) expect(text.includes(s), `${name} contains a secret (${s.slice(0, 4)}…)`).toBe(false);
      for (const m of MARKERS) expect(text.includes(m), `${name} contains "${m}"`).toBe(false);
      expect(JWT.test(text), `${name} contains a JWT`).toBe(false);
    }
  }, 120_000);
});
