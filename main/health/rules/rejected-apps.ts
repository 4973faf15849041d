import type { Cause, Grant } from '../../../shared/domain.js';
import type { HealthContext } from '../context.js';
import type { Draft, RuleResult } from '../findings.js';

/**
 * Apps whose credentials the provider rejects: one finding per app, however many grants it has. Deleted or
 * merely given a new secret, read from what is known of the app: a PKCE app has no secret to rotate, an
 * unknown client id means the app is gone, and where apps die with their creator's login (Xero), a creator
 * marked as leaving says so too.
 */
export function rejectedAppsRule(ctx: HealthContext): RuleResult {
  const { apps, staff } = ctx.input;
  const rejectedByApp = new Map<string, Grant[]>();
  for (const g of ctx.grants) {
    if (g.state !== 'app-rejected') continue;
    rejectedByApp.set(g.appId, [...(rejectedByApp.get(g.appId) ?? []), g]);
  }
  const findings: Draft[] = [];
  const explains = new Map<string, string>();
  for (const [appId, list] of rejectedByApp) {
    const app = apps[appId];
    const provider = ctx.providers.ofApp(appId);
    const { name } = provider.terms;
    const creator = app?.createdBy ? Object.values(staff).find((s) => s.id === app.createdBy || s.email === app.createdBy) : undefined;
    const creatorGone = provider.policy.appDeletedWithCreator && creator !== undefined && creator.status !== 'active';
    const unknownClient = list.some((g) => g.lastFailure?.kind === 'unauthorized-client');
    // A PKCE app has no secret that could have been rotated: its client id refused means the app is gone.
    const noSecret = app?.authType === 'pkce';
    const cause: Cause = creatorGone || unknownClient || noSecret ? 'app-deleted' : 'credentials-rotated';
    const all = ctx.grants.filter((g) => g.appId === appId);
    const conns = list.flatMap((g) => ctx.connectionsOf(g));
    const key = `${cause}:app:${appId}`;
    findings.push({
      facts: {
        key,
        cause,
        confidence: list.length === all.length ? 'likely' : 'possible',
        staffId: null,
        appId,
        tenantIds: [...new Set(conns.map((c) => c.tenantId))],
        connectionIds: conns.map((c) => c.id),
        evidence: [
          `${name} rejected the app's credentials for ${list.length} of its ${all.length} sign-in${all.length === 1 ? '' : 's'} (${list[0]!.lastFailure?.detail ?? 'invalid_client'}).`,
          ...(creatorGone ? [`The app was created by ${creator!.name || creator!.email}, who is marked as ${creator!.status}.`] : []),
          ...(noSecret && !creatorGone && !unknownClient ? [`It is a PKCE app, which has no client secret to rotate: ${name} no longer knows its client id.`] : []),
        ],
      },
      wording: { app: app?.name, orgCount: new Set(conns.map((c) => c.tenantId)).size },
      provider,
    });
    for (const g of list) explains.set(g.id, key);
  }
  return { findings, explains };
}
