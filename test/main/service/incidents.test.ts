import { afterEach, describe, expect, it } from 'vitest';
import type { IncidentEvent } from '../../../main/health/incidents.js';
import type { RelinkService } from '../../../main/service/relink-service.js';
import { createHarness, HAS_SECRET_SERVICE, NO_KEYCHAIN, sandboxApp, sandboxFirm, type Harness } from '../../support/relink-harness.js';
import { useSandbox } from '../../support/use-sandbox.js';

/**
 * The incident lifecycle through the service: one event opens one incident (an onIncident event and an
 * `incident-opened` activity entry), repeated checks add nothing, and the reconnect that fixes it closes it
 * once (`incident-recovered`).
 */
describe('service: incidents open once and close on recovery', () => {
  const sb = useSandbox({ resetEachTest: true });
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.dispose();
    h = undefined;
  });

  function record(service: RelinkService) {
    const events: IncidentEvent[] = [];
    service.onIncident((e) => events.push(e));
    const kinds = () => events.map((e) => `${e.kind}:${e.incident.cause}`);
    const logged = async () =>
      (await service.activity.read()).filter((e) => e.action.startsWith('incident-')).map((e) => e.action);
    return { events, kinds, logged };
  }

  it.skipIf(!HAS_SECRET_SERVICE)(`password change → one incident opened; repeated checks add nothing; reconnect closes it once${NO_KEYCHAIN}`, async () => {
    h = createHarness(sb);
    const firm = await sandboxFirm(sb, 2);
    const service = await h.open();
    const app = await h.addApp(service, await sandboxApp(sb));
    await h.connect(service, app, firm.userId, firm.tenantIds);
    const { events, kinds, logged } = record(service);

    await service.check();
    expect(events).toEqual([]);

    await sb.control('POST', `/sandbox/users/${firm.userId}/password`);
    await service.check();
    expect(kinds()).toEqual(['opened:password-changed']);
    const opened = events[0]!.incident;
    expect(opened).toMatchObject({ staffId: firm.userId, appId: app.id, closedAt: null });
    expect(opened.tenantIds.sort()).toEqual([...firm.tenantIds].sort());
    expect(service.status().incidents.map((i) => i.id)).toEqual([opened.id]);
    expect(await logged()).toEqual(['incident-opened']);

    // Nothing new happened: no new events, no new entries, the same incident.
    await service.check();
    await service.check();
    await service.assess();
    expect(kinds()).toEqual(['opened:password-changed']);
    expect(await logged()).toEqual(['incident-opened']);
    expect(service.status().incidents.map((i) => i.id)).toEqual([opened.id]);

    await h.connect(service, app, firm.userId, firm.tenantIds);
    await service.assess();
    expect(kinds()).toEqual(['opened:password-changed', 'recovered:password-changed']);
    expect(events[1]!.incident).toMatchObject({ id: opened.id, closedAt: expect.any(String) });
    expect(service.status().incidents).toEqual([]);
    expect(await logged()).toEqual(['incident-opened', 'incident-recovered']);

    await service.check();
    await service.check();
    expect(events).toHaveLength(2);
    expect(await logged()).toEqual(['incident-opened', 'incident-recovered']);
    expect(service.store.peek().incidents[opened.id]).toMatchObject({ closedAt: expect.any(String) });
  });

  it.skipIf(!HAS_SECRET_SERVICE)(`password change across 2 apps, reconnected one app at a time → still ONE incident, closed once at the end${NO_KEYCHAIN}`, async () => {
    h = createHarness(sb);
    const firm = await sandboxFirm(sb, 2);
    const service = await h.open();
    const a1 = await h.addApp(service, await sandboxApp(sb, { type: 'pkce' }));
    const a2 = await h.addApp(service, await sandboxApp(sb, { type: 'web' }));
    await h.connect(service, a1, firm.userId, firm.tenantIds);
    await h.connect(service, a2, firm.userId, firm.tenantIds);
    const { kinds, logged } = record(service);

    await sb.control('POST', `/sandbox/users/${firm.userId}/password`);
    await service.check();
    expect(kinds()).toEqual(['opened:password-changed']);

    // The bulk reconnect does one app first. That reconnect is the fix arriving, not evidence that the
    // other app's approval was revoked on its own: the same incident stays open, nothing new is announced.
    await h.connect(service, a1, firm.userId, firm.tenantIds);
    await service.check();
    expect(kinds()).toEqual(['opened:password-changed']);
    const mid = service.status();
    expect(mid.incidents).toEqual([expect.objectContaining({ cause: 'password-changed', appId: a2.id, connectionCount: 2 })]);
    expect(mid.connections.filter((c) => c.appId === a1.id).every((c) => c.health === 'healthy')).toBe(true);
    expect(mid.connections.filter((c) => c.appId === a2.id).every((c) => c.health === 'needs-reconnect' && c.cause === 'password-changed')).toBe(true);

    await h.connect(service, a2, firm.userId, firm.tenantIds);
    await service.check();
    expect(kinds()).toEqual(['opened:password-changed', 'recovered:password-changed']);
    expect(await logged()).toEqual(['incident-opened', 'incident-recovered']);
    expect(service.status().incidents).toEqual([]);
  });
});
