import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NEEDS_KEYCHAIN, ROOT, addAppArgs, cliWorld, hasSecretService } from '../../support/relink-cli.js';
import { useCliProfiles } from '../../support/cli-profile.js';

/**
 * `relink apps add` / `apps list` and the usage errors a person makes, as a real process: exit codes, what is
 * printed, and what ends up in the metadata file and the keychain.
 */

const { sb, profile } = useCliProfiles('apps', { sandbox: 'reset-each-test' });

describe('relink apps add', () => {
  it('adds a PKCE app, in words and as JSON, and keeps no secret for it', async () => {
    const p = profile();
    const w = await cliWorld(sb);
    const r = await p.run(addAppArgs(sb, 'Harbour Practice Sync', w));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Added Harbour Practice Sync (harbour-practice-sync), PKCE app.');
    expect(r.stdout).toContain('Connect it with: relink connect harbour-practice-sync');

    const w2 = await cliWorld(sb);
    const j = await p.run([...addAppArgs(sb, 'Harbour Payroll Bridge', w2), '--connection-cap', '25', '--created-by', 'tom@firm.example', '--json']);
    expect(j.code, j.stderr).toBe(0);
    const app = JSON.parse(j.stdout);
    expect(app).toMatchObject({
      id: 'harbour-payroll-bridge',
      name: 'Harbour Payroll Bridge',
      clientId: w2.clientId,
      authType: 'pkce',
      issuer: sb.origin,
      apiBase: sb.origin,
      redirectPorts: [w2.port],
      connectionCap: 25,
      multiOrgConsent: true,
      createdBy: 'tom@firm.example',
    });
    // Relink always asks for what it cannot work without.
    expect(app.scopes).toEqual(expect.arrayContaining(['openid', 'profile', 'email', 'offline_access', 'accounting.settings']));
    expect(p.metadata().apps['harbour-payroll-bridge'].clientId).toBe(w2.clientId);
    if (hasSecretService) {
      await expect(p.vault().readClientSecret('harbour-payroll-bridge')).resolves.toBeNull();
    }
  });

  it.skipIf(!hasSecretService)(`adds a web app whose secret arrives on stdin, into the keychain only${NEEDS_KEYCHAIN}`, async () => {
    const p = profile();
    const w = await cliWorld(sb, { type: 'web' });
    expect(w.clientSecret).toBeTruthy();
    const r = await p.run([...addAppArgs(sb, 'Harbour Reporting', w), '--json'], { stdin: `${w.clientSecret}\n` });
    expect(r.code, r.stderr).toBe(0);
    const app = JSON.parse(r.stdout);
    expect(app).toMatchObject({ id: 'harbour-reporting', authType: 'web', clientId: w.clientId });
    expect(await p.vault().readClientSecret('harbour-reporting')).toBe(w.clientSecret);
    expect(r.stdout + r.stderr).not.toContain(w.clientSecret!);
    expect(JSON.stringify(p.metadata())).not.toContain(w.clientSecret!);

    const w2 = await cliWorld(sb, { type: 'web' });
    const human = await p.run(addAppArgs(sb, 'Harbour Reporting', w2), { stdin: w2.clientSecret! });
    expect(human.code, human.stderr).toBe(0);
    // Same name twice: a second id, not an overwrite.
    expect(human.stdout).toContain('Added Harbour Reporting (harbour-reporting-2), web app; its secret is in the keychain.');
    expect(await p.vault().readClientSecret('harbour-reporting-2')).toBe(w2.clientSecret);
  });

  it('refuses --client-secret-stdin with nothing on stdin (exit 2, says what to do)', async () => {
    const p = profile();
    const w = await cliWorld(sb);
    const r = await p.run([...addAppArgs(sb, 'Empty Secret', w), '--client-secret-stdin'], { stdin: '   \n' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--client-secret-stdin was given but nothing arrived on standard input.');
    expect(r.stdout).toBe('');
  });

  it('refuses a missing --client-id and --name with exit 2 and says where to find them', async () => {
    const p = profile();
    const noId = await p.run(['apps', 'add', '--name', 'No Id']);
    expect(noId.code).toBe(2);
    expect(noId.stderr).toContain('apps add needs --client-id');
    expect(noId.stderr).toContain('Xero developer portal');
    expect(noId.stderr).toContain('Usage: relink');
    expect(noId.stdout).toBe('');

    const noName = await p.run(['apps', 'add', '--client-id', 'ABC']);
    expect(noName.code).toBe(2);
    expect(noName.stderr).toContain('apps add needs --name.');
  });

  it('refuses bad --redirect-ports with exit 2 and names the problem', async () => {
    const p = profile();
    const words = await p.run(['apps', 'add', '--name', 'Bad Ports', '--client-id', 'ABC', '--redirect-ports', '5001,http']);
    expect(words.code).toBe(2);
    expect(words.stderr).toContain(`--redirect-ports takes ports from 1024 to 65535, the ones in the app's redirect URIs (http://127.0.0.1:PORT/callback in Xero's developer portal), not "http".`);

    const low = await p.run(['apps', 'add', '--name', 'Bad Ports', '--client-id', 'ABC', '--redirect-ports', '80']);
    expect(low.code).toBe(2);
    // Names the option and where the ports come from, not just a bare range.
    expect(low.stderr).toContain("--redirect-ports takes ports from 1024 to 65535, the ones in the app's redirect URIs");
    expect(low.stderr).toContain('not "80".');
    const high = await p.run(['apps', 'add', '--name', 'Bad Ports', '--client-id', 'ABC', '--redirect-ports', '5001,70000']);
    expect(high.code).toBe(2);
    expect(high.stderr).toContain('--redirect-ports takes ports from 1024 to 65535');
    const empty = await p.run(['apps', 'add', '--name', 'Bad Ports', '--client-id', 'ABC', '--redirect-ports', '']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('--redirect-ports needs a value, not an empty one.');
    // Nothing was added (the file may not even exist yet: nothing changed).
    expect(p.files().includes('relink.json') ? p.metadata().apps : {}).toEqual({});
  });

  it('refuses an --issuer or --api-base that is not an address, naming the option', async () => {
    const p = profile();
    for (const option of ['--issuer', '--api-base']) {
      const r = await p.run(['apps', 'add', '--name', 'Bad Url', '--client-id', 'ABC', option, 'identity.xero.com']);
      expect(r.code).toBe(2);
      const example = option === '--issuer' ? 'https://identity.xero.com' : 'https://api.xero.com';
      expect(r.stderr).toContain(`${option} takes an address like ${example}, not "identity.xero.com".`);
    }
  });

  it('refuses a duplicate client id and an unknown option with exit 2', async () => {
    const p = profile();
    const w = await cliWorld(sb);
    await p.ok(addAppArgs(sb, 'First', w));
    const dup = await p.run(addAppArgs(sb, 'Second', w));
    expect(dup.code).toBe(2);
    expect(dup.stderr).toContain(`An app with client id ${w.clientId} is already set up.`);

    const unknown = await p.run(['apps', 'add', '--name', 'X', '--client-id', 'Y', '--colour', 'blue']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--colour/);
    expect(unknown.stderr).toContain('Usage: relink');
  });
});

describe('relink apps list', () => {
  it('lists nothing helpfully, then the apps in words and as JSON', async () => {
    const p = profile();
    const empty = await p.run(['apps', 'list']);
    expect(empty.code).toBe(0);
    expect(empty.stdout).toContain('No apps yet. Add one with: relink apps add --name NAME --client-id ID');
    const emptyJson = await p.run(['apps', 'list', '--json']);
    expect(JSON.parse(emptyJson.stdout)).toEqual([]);

    const a = await cliWorld(sb);
    const b = await cliWorld(sb);
    await p.ok(addAppArgs(sb, 'Alpha Sync', a));
    await p.ok(addAppArgs(sb, 'Beta Bridge', b));
    const list = await p.run(['apps', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(`alpha-sync  Alpha Sync  (pkce, client id ${a.clientId}, ports ${a.port})`);
    expect(list.stdout).toContain(`beta-bridge  Beta Bridge  (pkce, client id ${b.clientId}, ports ${b.port})`);
    const json = JSON.parse((await p.run(['apps', 'list', '--json'])).stdout);
    expect(json.map((x: { id: string }) => x.id).sort()).toEqual(['alpha-sync', 'beta-bridge']);
  });

  it('finds its data folder and keychain service through RELINK_DATA_DIR and RELINK_KEYCHAIN_SERVICE', async () => {
    const p = profile();
    const w = await cliWorld(sb);
    await p.ok(addAppArgs(sb, 'Env Sync', w));
    const r = await p.run(['apps', 'list', '--json'], {
      noGlobals: true,
      env: { RELINK_DATA_DIR: p.dataDir, RELINK_KEYCHAIN_SERVICE: p.keychainService },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).map((x: { id: string }) => x.id)).toEqual(['env-sync']);
  });
});

describe('relink usage errors', () => {
  it('an unknown command exits 2 and shows the usage', async () => {
    const p = profile();
    const r = await p.run(['frobnicate', '--now']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Unknown command "frobnicate --now".');
    expect(r.stderr).toContain('Usage: relink');
    const apps = await p.run(['apps', 'remove', 'x']);
    expect(apps.code).toBe(2);
    expect(apps.stderr).toContain('Unknown command "apps remove x".');
  });

  it('no command exits 2 with the usage; --help exits 0', async () => {
    const p = profile();
    const none = await p.run([]);
    expect(none.code).toBe(2);
    expect(none.stdout).toContain('Usage: relink');
    const help = await p.run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain(
      "Exit codes: 0 ok, 1 failure, 2 usage, 3 keychain locked or unavailable, 4 Xero unreachable, 5 not authorised\n(connect: declined or not finished; check: Xero refused a connection or an app's credentials).",
    );
  });

  it('connect to an unknown app exits 2, lists the known apps, and does not claim to wait for a browser', async () => {
    const p = profile();
    const w = await cliWorld(sb);
    await p.ok(addAppArgs(sb, 'Known App', w));
    const r = await p.run(['connect', 'no-such-app', '--browser', 'none', '--timeout', '2']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('No app "no-such-app". Known apps: known-app (Known App).');
    expect(r.stderr).not.toContain('Waiting for the approval');
    expect(r.stdout).toBe('');

    const missing = await p.run(['connect']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('connect needs the app: relink connect APP (see relink apps list).');

    const badTimeout = await p.run(['connect', 'known-app', '--timeout', 'soon']);
    expect(badTimeout.code).toBe(2);
    expect(badTimeout.stderr).toContain('--timeout takes a whole number of seconds from 1 to 86400, not "soon".');
    expect(badTimeout.stderr).not.toContain('Waiting for the approval');
  });

  it('a --timeout past what a timer holds is a usage error naming the flag and range, not an instant exit (exit 2)', async () => {
    const p = profile();
    const w = await cliWorld(sb);
    await p.ok(addAppArgs(sb, 'Known App', w));
    // 2147484 s is past Node's timer limit (2^31 − 1 ms): it used to fire at once and end the connect.
    const r = await p.run(['connect', 'known-app', '--browser', 'none', '--timeout', '2147484']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--timeout takes a whole number of seconds from 1 to 86400, not "2147484".');
    expect(r.stderr).not.toContain('Open this address');
  });

  it('an http --issuer off this computer is refused when the app is added (exit 2), not at its first connect', async () => {
    const p = profile();
    const r = await p.run(['apps', 'add', '--name', 'Evil', '--client-id', '0123456789ABCDEF0123456789ABCDEF', '--issuer', 'http://evil.example']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      '--issuer must be an https address like https://identity.xero.com; http is allowed only on this computer (127.0.0.1, localhost or [::1], for the sandbox), not "http://evil.example".',
    );
    expect(p.files().includes('relink.json') ? p.metadata().apps : {}).toEqual({});
  });

  it('global options: an unknown one, or an empty --data-dir / RELINK_DATA_DIR, is a usage error and touches nothing', async () => {
    const p = profile();
    const before = fs.readdirSync(ROOT).sort();
    const bogus = await p.run(['--bogus', 'status']);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toContain("Unknown option --bogus. Before the command Relink takes only --data-dir DIR and --keychain-service NAME; a command's own options go after it.");
    const empty = await p.run(['--data-dir', '', 'status'], { noGlobals: true });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('--data-dir needs a folder (--data-dir DIR), not an empty value.');
    const env = await p.run(['status'], { noGlobals: true, env: { RELINK_DATA_DIR: '', RELINK_KEYCHAIN_SERVICE: p.keychainService } });
    expect(env.code).toBe(2);
    expect(env.stderr).toContain('RELINK_DATA_DIR is set but empty: set it to a folder, or unset it to use the default.');
    // Nothing was written into the folder the CLI ran in (an empty --data-dir used to mean "here").
    expect(fs.readdirSync(ROOT).sort()).toEqual(before);
  });
});
