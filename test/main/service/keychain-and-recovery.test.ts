import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryKeychain } from '../../../main/secrets/memory-keychain.js';
import { ServiceError } from '../../../main/service/relink-service.js';
import { createHarness, HAS_SECRET_SERVICE, NO_KEYCHAIN, sandboxApp, sandboxFirm, type Harness } from '../../support/relink-harness.js';
import { useSandbox } from '../../support/use-sandbox.js';

/**
 * Bad input loses nothing (DESIGN.md §6): a locked keychain is a visible state, never "no token", and a
 * damaged metadata file is quarantined and the last good copy restored.
 */
describe('service: a locked keychain and a damaged metadata file lose nothing', () => {
  const sb = useSandbox({ resetEachTest: true });
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.dispose();
    h = undefined;
  });

  // The keychain's failure modes are switched on a fake: the real one cannot be locked on demand here.
  it('locked keychain → status says so, every connection unverified (keychain-unavailable), check() refuses, nothing deleted', async () => {
    const keychain = new MemoryKeychain();
    h = createHarness(sb, { keychain });
    const firm = await sandboxFirm(sb, 2);
    const first = await h.open();
    const pkce = await h.addApp(first, await sandboxApp(sb, { type: 'pkce' }));
    const web = await h.addApp(first, await sandboxApp(sb, { type: 'web' }));
    await h.connect(first, pkce, firm.userId, firm.tenantIds);
    await h.connect(first, web, firm.userId, firm.tenantIds.slice(0, 1));
    await first.close();

    const metadataPath = path.join(h.dataDir, 'relink.json');
    const metadataBefore = JSON.parse(fs.readFileSync(metadataPath, 'utf8'));
    const keychainBefore = new Map(keychain.entries);
    expect([...keychainBefore.keys()].filter((k) => k.startsWith(h!.keychainService))).toHaveLength(3); // 2 grants + 1 secret

    keychain.state = 'locked';
    const locked = await h.open();
    expect(locked.keychainState).toBe('locked');
    const st = locked.status();
    expect(st.keychain).toBe('locked');
    expect(st.grants).toHaveLength(2);
    expect(st.connections).toHaveLength(3);
    for (const c of st.connections) expect(c).toMatchObject({ health: 'unverified', cause: 'keychain-unavailable' });
    for (const g of st.grants) expect(g).toMatchObject({ health: 'unverified', cause: 'keychain-unavailable' });
    expect(st.incidents).toEqual([expect.objectContaining({ cause: 'keychain-unavailable', fix: expect.objectContaining({ action: 'unlock-keychain' }), connectionCount: 3 })]);

    const error = await locked.check().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceError);
    expect(error).toMatchObject({ code: 'keychain', message: expect.stringMatching(/locked.*nothing was changed or deleted/is) });
    await expect(locked.connect(pkce.id, { open: async () => undefined, timeoutMs: 1_000 })).rejects.toMatchObject({ code: 'keychain' });
    await locked.close();

    // Unlock and reopen: every grant, connection and key is where it was.
    keychain.state = 'available';
    expect(keychain.entries).toEqual(keychainBefore);
    const after = JSON.parse(fs.readFileSync(metadataPath, 'utf8'));
    expect(after.apps).toEqual(metadataBefore.apps);
    expect(after.grants).toEqual(metadataBefore.grants);
    expect(after.connections).toEqual(metadataBefore.connections);
    expect(after.staff).toEqual(metadataBefore.staff);

    const unlocked = await h.open();
    expect(unlocked.status().keychain).toBe('available');
    await expect(unlocked.check()).resolves.toMatchObject({ grants: 2, refreshed: 2, revoked: 0, appRejected: 0 });
    const healed = unlocked.status();
    expect(healed.connections.every((c) => c.health === 'healthy')).toBe(true);
    expect(healed.incidents).toEqual([]);
  });

  it.skipIf(!HAS_SECRET_SERVICE)(`garbage in relink.json between two opens → recovered from the last good copy, grants kept, logged, damaged file kept${NO_KEYCHAIN}`, async () => {
    h = createHarness(sb);
    const firm = await sandboxFirm(sb, 2);
    const first = await h.open();
    const app = await h.addApp(first, await sandboxApp(sb));
    const report = await h.connect(first, app, firm.userId, firm.tenantIds);
    await first.close();
    // A clean open refreshes relink.last-good.json with what it read.
    const second = await h.open();
    expect(second.recovery).toBeNull();
    await second.close();

    const metadataPath = path.join(h.dataDir, 'relink.json');
    const garbage = '{"version": 1, "grants": {"torn-wri\u0000\u0000\u0000';
    fs.writeFileSync(metadataPath, garbage);

    const third = await h.open();
    expect(third.recovery).toMatchObject({ kind: 'restored-last-good', severity: 'warning' });
    const quarantined = third.recovery!.quarantinedPath;
    expect(path.dirname(quarantined)).toBe(h.dataDir);
    expect(path.basename(quarantined)).toMatch(/^relink\.corrupt\..+\.json$/);
    expect(fs.readFileSync(quarantined, 'utf8')).toBe(garbage);

    const st = third.status();
    expect(st.grants.map((g) => g.id)).toEqual([report.grantId]);
    expect(st.connections.map((c) => c.orgId).sort()).toEqual([...firm.tenantIds].sort());
    expect(st.apps.map((a) => a.id)).toEqual([app.id]);
    const logged = await third.activity.read({ action: 'metadata-recovered' });
    expect(logged).toHaveLength(1);
    expect(logged[0]!.detail).toMatch(/damaged.*last good copy was restored/s);
    // The entry names where the damaged file went, readable (its stamp is in short parts the scrubber keeps).
    expect(logged[0]!.detail).toContain(quarantined);

    // The restored document is usable: the keychain still holds the grant's token.
    await expect(third.check()).resolves.toMatchObject({ refreshed: 1, revoked: 0 });
    expect(third.status().connections.every((c) => c.health === 'healthy')).toBe(true);
    await third.close();
    expect(JSON.parse(fs.readFileSync(metadataPath, 'utf8')).grants[report.grantId]).toBeDefined();
    expect(fs.existsSync(quarantined)).toBe(true);
  });
});
