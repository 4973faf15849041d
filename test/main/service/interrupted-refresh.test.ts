import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeGrantId, JOURNAL_DIR } from '../../../main/store/refresh-journal.js';
import { until } from '../../support/relink-cli.js';
import { createHarness, HAS_SECRET_SERVICE, NO_KEYCHAIN, sandboxApp, sandboxFirm, type Harness } from '../../support/relink-harness.js';
import { useSandbox } from '../../support/use-sandbox.js';

/**
 * A process died with a refresh in flight, and its write-ahead marker was cut short (the journal writes it in
 * place, without a rename, so a crash can leave it truncated or empty). The journal promises that such a
 * marker reads as damaged and that a damaged marker counts as a refresh that was in flight. So the next
 * `run` refreshes that grant first — inside Xero's 30-minute grace window, when the lost answer had already
 * rotated the token — rather than waiting for the next probe (here a day away), by when the stored token
 * would be dead.
 */

describe('service: a damaged refresh-journal marker at start', () => {
  const sb = useSandbox({ resetEachTest: true });
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.dispose();
    h = undefined;
  });

  for (const [what, content] of [
    ['a truncated', (grantId: string) => `{"grantId":"${grantId}","startedAt":"20`],
    ['an empty', () => ''],
  ] as const) {
    it.skipIf(!HAS_SECRET_SERVICE)(`${what} marker: the grant is refreshed first, inside the grace window, and ends healthy${NO_KEYCHAIN}`, async () => {
      h = createHarness(sb);
      const firm = await sandboxFirm(sb, 1);
      const sbApp = await sandboxApp(sb);
      const first = await h.open();
      const app = await h.addApp(first, sbApp);
      const { grantId } = await h.connect(first, app, firm.userId, firm.tenantIds);
      // Nothing else would touch the grant for a day: no probe due, keep-alive 24 h away.
      await first.updateSettings({ probeIntervalMinutes: 24 * 60 });
      const stored = await first.vault.readGrant(grantId);
      await first.close();

      // The refresh that was in flight took effect at Xero, and its answer was lost with the process.
      const lost = await fetch(`${sb.origin}/connect/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', client_id: sbApp.clientId, refresh_token: stored!.refreshToken }),
      });
      expect(lost.status).toBe(200);
      const markerFile = path.join(h.dataDir, JOURNAL_DIR, `${encodeGrantId(grantId)}.json`);
      fs.writeFileSync(markerFile, content(grantId));

      const service = await h.open();
      await expect(service.journal.list()).resolves.toMatchObject({ markers: [], damaged: [{ grantId }] });
      await service.run();
      // Overdue work at start is spread over up to 10 s.
      await until('the grant to be refreshed with a new token stored', async () => {
        const now = await service.vault.readGrant(grantId);
        return now && now.refreshToken !== stored!.refreshToken;
      }, 20_000);
      await until('the marker to be cleared', () => !fs.existsSync(markerFile), 5_000);

      const state = await sb.control('GET', '/sandbox/state');
      const families = state.grants.filter((g: { clientId: string }) => g.clientId === sbApp.clientId);
      expect(families.map((f: { revokedReason: string | null }) => f.revokedReason)).toEqual(families.map(() => null));
      await until('the grant to be healthy', () => service.status().grants[0]?.health === 'healthy', 5_000);
      expect(service.status().grants[0]).toMatchObject({ id: grantId, health: 'healthy', lastFailure: null });
    }, 60_000);
  }
});
