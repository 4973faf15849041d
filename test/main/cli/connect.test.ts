import fs from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connectReportSchema } from '../../../shared/api.js';
import { followAuthorize } from '../../support/headless-browser.js';
import {
  HEADLESS_BROWSER,
  NEEDS_KEYCHAIN,
  addAppArgs,
  arrangeConsent,
  cliWorld,
  freePort,
  hasSecretService,
} from '../../support/relink-cli.js';
import { useCliProfiles } from '../../support/cli-profile.js';

/**
 * `relink connect APP` end to end: a real CLI process, a real loopback listener on the app's registered port,
 * the sandbox's authorize endpoint answering an arranged consent, the code exchange, the keychain, and the
 * report. Also its failures and their exit codes: declined (5), nobody approved in time (5), Xero unreachable (4).
 */

const { sb, profile } = useCliProfiles('connect', { sandbox: 'reset-each-test' });

/**
 * A "browser" that comes back from the provider with `error=CODE` instead of a code, as Xero's pages do when a
 * sign-in ends in an error: it reads the redirect URI and state from the authorize URL (its last argument) and
 * makes the top-level navigation to the loopback callback. Run as `node SCRIPT CODE URL`.
 */
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-connect-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));
const ERROR_BROWSER = path.join(scratch, 'error-browser.mjs');
fs.writeFileSync(
  ERROR_BROWSER,
  `import { request } from 'node:http';
const [error, url] = process.argv.slice(2);
const authorize = new URL(url);
const cb = new URL(authorize.searchParams.get('redirect_uri'));
cb.search = new URLSearchParams({ error, state: authorize.searchParams.get('state') }).toString();
request({ host: '127.0.0.1', port: cb.port, path: cb.pathname + cb.search, headers: { host: cb.host, 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' } }, (res) => {
  res.resume();
  res.on('end', () => process.exit(res.statusCode === 200 ? 0 : 1));
}).end();
`,
);
const errorBrowser = (code: string) => `"${process.execPath}" "${ERROR_BROWSER}" ${code}`;

describe('relink connect', () => {
  it.skipIf(!hasSecretService)(`connects through the browser and prints the organisations it connected${NEEDS_KEYCHAIN}`, async () => {
    const p = profile();
    const w = await cliWorld(sb, { orgs: 3 });
    await p.ok(addAppArgs(sb, 'Practice Sync', w));
    await arrangeConsent(sb, w.clientId, w.userId, w.tenantIds);
    const r = await p.run(['connect', 'practice-sync', '--browser', HEADLESS_BROWSER, '--timeout', '20']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Waiting for the approval in the browser…');
    expect(r.stdout).toContain('Connected as Ada Adviser (');
    const line = /Newly connected \(3\): (.+)\n/.exec(r.stdout)?.[1];
    expect(line?.split(', ').map((n) => n.replace(/ \w+$/, '')).sort()).toEqual(['Org 1', 'Org 2', 'Org 3']);

    const doc = p.metadata();
    const grants = Object.values(doc.grants) as Array<{ id: string; state: string; staffId: string }>;
    expect(grants).toHaveLength(1);
    expect(grants[0]).toMatchObject({ state: 'active', staffId: w.userId });
    expect(Object.values(doc.connections).map((c: any) => c.tenantId).sort()).toEqual([...w.tenantIds].sort());
    const stored = await p.vault().readGrant(grants[0]!.id);
    expect(stored?.refreshToken).toBeTruthy();

    // The sandbox saw exactly one consent for this app and user: one active token family.
    const state = await sb.control('GET', '/sandbox/state');
    const families = state.grants.filter((g: any) => g.clientId === w.clientId);
    expect(families).toHaveLength(1);
    expect(families[0].revokedReason).toBeNull();
  });

  it.skipIf(!hasSecretService)(`--json prints one report that matches the API contract; a second consent reports "reconnected"${NEEDS_KEYCHAIN}`, async () => {
    const p = profile();
    const w = await cliWorld(sb, { orgs: 2 });
    await p.ok(addAppArgs(sb, 'Practice Sync', w));
    await arrangeConsent(sb, w.clientId, w.userId, w.tenantIds);
    const first = await p.run(['connect', 'practice-sync', '--browser', HEADLESS_BROWSER, '--timeout', '20', '--json']);
    expect(first.code, first.stderr).toBe(0);
    const report = connectReportSchema.parse(JSON.parse(first.stdout));
    expect(report.appId).toBe('practice-sync');
    expect(report.staff).toMatchObject({ id: w.userId, name: 'Ada Adviser', email: w.email });
    expect(report.connected.map((o) => o.tenantId).sort()).toEqual([...w.tenantIds].sort());
    expect(report.reconnected).toEqual([]);
    expect(report.stillMissing).toEqual([]);
    expect(report.warning).toBeNull();
    // --json keeps stderr free of chatter, so a script can read stdout as it is.
    expect(first.stderr).toBe('');

    // Approving again with only the first organisation ticked: it is reconnected, the other still missing.
    await arrangeConsent(sb, w.clientId, w.userId, [w.tenantIds[0]!]);
    const again = await p.run(['connect', 'practice-sync', '--browser', HEADLESS_BROWSER, '--timeout', '20', '--json']);
    expect(again.code, again.stderr).toBe(0);
    const second = connectReportSchema.parse(JSON.parse(again.stdout));
    expect(second.grantId).toBe(report.grantId);
    expect(second.connected).toEqual([]);
    expect(second.reconnected.map((o) => o.tenantId).sort()).toEqual([...w.tenantIds].sort());
  });

  it.skipIf(!hasSecretService)(`--browser none prints the address on stderr and completes when someone follows it${NEEDS_KEYCHAIN}`, async () => {
    const p = profile();
    const w = await cliWorld(sb);
    await p.ok(addAppArgs(sb, 'Practice Sync', w));
    await arrangeConsent(sb, w.clientId, w.userId, w.tenantIds);
    const cli = p.spawn(['connect', 'practice-sync', '--browser', 'none', '--timeout', '20']);
    const [, url] = await cli.waitFor('stderr', /Open this address in a browser to approve the connection:\n(\S+)\n/);
    const authorize = new URL(url!);
    expect(authorize.origin).toBe(sb.origin);
    expect(authorize.pathname).toMatch(/\/connect\/authorize$/); // as discovery names it
    expect(authorize.searchParams.get('client_id')).toBe(w.clientId);
    expect(authorize.searchParams.get('redirect_uri')).toBe(`http://127.0.0.1:${w.port}/callback`);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('state')).toBeTruthy();
    expect(cli.stdout()).toBe('');

    const page = await followAuthorize(url!);
    expect(page.status).toBe(200);
    const r = await cli.exited;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Newly connected (2)');
  });

  it(`a declined consent exits 5 and changes nothing`, async () => {
    const p = profile();
    const w = await cliWorld(sb);
    await p.ok(addAppArgs(sb, 'Practice Sync', w));
    await arrangeConsent(sb, w.clientId, w.userId, w.tenantIds, 'deny');
    const r = await p.run(['connect', 'practice-sync', '--browser', HEADLESS_BROWSER, '--timeout', '20']);
    if (!hasSecretService) {
      // Without a keychain Relink will not start a consent whose refresh token it could not keep.
      expect(r.code).toBe(3);
      return;
    }
    expect(r.code, r.stderr).toBe(5);
    expect(r.stderr).toContain('The approval was declined in Xero, so nothing changed.');
    expect(r.stdout).toBe('');
    expect(p.metadata().grants).toEqual({});
    const state = await sb.control('GET', '/sandbox/state');
    expect(state.grants.filter((g: any) => g.clientId === w.clientId)).toEqual([]);
  });

  it.skipIf(!hasSecretService)(`nobody approving before --timeout exits 5 after that long, and changes nothing${NEEDS_KEYCHAIN}`, async () => {
    const p = profile();
    const w = await cliWorld(sb);
    await p.ok(addAppArgs(sb, 'Practice Sync', w));
    const r = await p.run(['connect', 'practice-sync', '--browser', 'none', '--timeout', '2']);
    expect(r.code, r.stderr).toBe(5);
    expect(r.stderr).toContain('Open this address in a browser');
    expect(r.stderr).toContain('No approval arrived before the time ran out; nothing changed. Run it again when ready.');
    expect(r.ms).toBeGreaterThanOrEqual(2_000);
    expect(r.ms).toBeLessThan(15_000);
    expect(p.metadata().grants).toEqual({});
  });

  it.skipIf(!hasSecretService)(`Ctrl-C while waiting for the approval cancels: exit 5, nothing changed${NEEDS_KEYCHAIN}`, async () => {
    const p = profile();
    const w = await cliWorld(sb);
    await p.ok(addAppArgs(sb, 'Practice Sync', w));
    const cli = p.spawn(['connect', 'practice-sync', '--browser', 'none', '--timeout', '60']);
    await cli.waitFor('stderr', /Waiting for the approval in the browser…\n/);
    const sentAt = performance.now();
    cli.child.kill('SIGINT');
    const r = await cli.exited;
    expect(r.signal).toBeNull();
    expect(r.code, r.stderr).toBe(5);
    expect(r.stderr).toContain('Cancelled; nothing changed.');
    expect(performance.now() - sentAt).toBeLessThan(5_000);
    expect(p.metadata().grants).toEqual({});
  });

  it.skipIf(!hasSecretService)(`a browser that fails to open: prints the address, keeps waiting, and completes when it is followed${NEEDS_KEYCHAIN}`, async () => {
    const p = profile();
    const w = await cliWorld(sb);
    await p.ok(addAppArgs(sb, 'Practice Sync', w));
    await arrangeConsent(sb, w.clientId, w.userId, w.tenantIds);
    const missing = path.join(scratch, 'no-such-browser');
    const cli = p.spawn(['connect', 'practice-sync', '--browser', missing, '--timeout', '20']);
    const [, url] = await cli.waitFor(
      'stderr',
      /Relink could not open your web browser: the program “.*no-such-browser” was not found\. \(browser-failed\)\nOpen this address yourself to approve the connection:\n(\S+)\n/,
    );
    expect(new URL(url!).searchParams.get('redirect_uri')).toBe(`http://127.0.0.1:${w.port}/callback`);
    await cli.waitFor('stderr', /Waiting for the approval in the browser…\n/);
    expect((await followAuthorize(url!)).status).toBe(200);
    const r = await cli.exited;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Newly connected (2)');
    expect(r.stderr).not.toContain("Could not reach Xero's sign-in service");
  });

  it.skipIf(!hasSecretService)(`every registered reply port in use: says which and what to do (exit 1, ports-busy), before any browser${NEEDS_KEYCHAIN}`, async () => {
    const p = profile();
    const w = await cliWorld(sb);
    await p.ok(addAppArgs(sb, 'Practice Sync', w));
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(w.port, '127.0.0.1', resolve));
    try {
      const r = await p.run(['connect', 'practice-sync', '--browser', 'none', '--timeout', '10']);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(
        `The sign-in reply addresses (ports ${w.port}) registered for Practice Sync are all in use by other programs (or by another sign-in that is still waiting). ` +
          "Close them and try again, or register another port in Xero's developer portal and add the app again with it. (ports-busy)",
      );
      expect(r.stderr).not.toContain('Open this address');
      expect(r.stderr).not.toContain("Could not reach Xero's sign-in service");
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it.skipIf(!hasSecretService)(`a provider error= says what the provider said, each with its own exit code${NEEDS_KEYCHAIN}`, async () => {
    const p = profile();
    const w = await cliWorld(sb);
    await p.ok(addAppArgs(sb, 'Practice Sync', w));
    const cases: Array<[string, number, string]> = [
      ['access_denied', 5, 'The approval was declined in Xero, so nothing changed.'],
      ['invalid_scope', 1, 'Xero refused the permissions Practice Sync asks for. Nothing was changed.'],
      ['temporarily_unavailable', 4, "Xero's sign-in service had a problem and could not finish the sign-in. Nothing was changed; try again in a few minutes. (temporarily_unavailable)"],
      ['login_required', 5, 'Xero ended the sign-in without an approval: it needs you to log in. Nothing was changed; run it again and finish in the browser. (login_required)'],
    ];
    for (const [error, code, message] of cases) {
      const r = await p.run(['connect', 'practice-sync', '--browser', errorBrowser(error), '--timeout', '20']);
      expect(r.code, `${error}: ${r.stderr}`).toBe(code);
      expect(r.stderr, error).toContain(message);
      expect(r.stderr, error).not.toContain("Could not reach Xero's sign-in service");
    }
    expect(p.metadata().grants).toEqual({});
  });

  it.skipIf(!hasSecretService)(`an app whose sign-in service cannot be reached exits 4 with a clear message${NEEDS_KEYCHAIN}`, async () => {
    const p = profile();
    const closed = await freePort(); // nothing listens here
    const port = await freePort();
    // Adding an app checks Xero first, so an unreachable sign-in service refuses the add itself (exit 4)…
    const add = await p.run([
      'apps', 'add', '--name', 'Nowhere', '--client-id', '0000000000000000000000000000AB01', '--issuer', `http://127.0.0.1:${closed}`, '--redirect-ports', String(port),
    ]);
    expect(add.code, add.stderr).toBe(4);
    expect(add.stderr).toMatch(/^Relink can't reach Xero's sign-in server at 127\.0\.0\.1:\d+, so it could not check Nowhere\. Nothing was saved/);
    expect(fs.existsSync(p.metadataPath) ? Object.keys(p.metadata().apps) : []).toEqual([]);

    // …and one added while Xero answered, whose sign-in service is gone by the time of the connect (the network
    // dropped), exits 4 from connect. The app's address is pointed at the closed port to stand for that.
    const w = await cliWorld(sb);
    await p.ok(addAppArgs(sb, 'Nowhere', w));
    const doc = p.metadata();
    doc.apps.nowhere.issuer = `http://127.0.0.1:${closed}`;
    fs.writeFileSync(p.metadataPath, JSON.stringify(doc));
    const r = await p.run(['connect', 'nowhere', '--browser', HEADLESS_BROWSER, '--timeout', '10']);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toContain("Could not reach Xero's sign-in service");
    expect(r.stderr).not.toContain('Waiting for the approval');
    expect(r.stderr).not.toContain('unexpected error');
    expect(r.stdout).toBe('');
  });
});
