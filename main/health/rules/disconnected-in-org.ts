import type { Connection } from '../../../shared/domain.js';
import type { HealthContext } from '../context.js';
import type { Draft } from '../findings.js';

/**
 * What is left of the missing organisations once replacements and removed access are explained: someone
 * disconnected the app inside that organisation. One finding per (app, organisation), however many people's
 * sign-ins lost it.
 */
export function disconnectedInOrgRule(ctx: HealthContext, explained: ReadonlySet<string>): { findings: Draft[] } {
  const byAppTenant = new Map<string, Connection[]>();
  for (const c of ctx.missing) {
    if (explained.has(c.id)) continue;
    const key = `${c.appId}|${c.tenantId}`;
    byAppTenant.set(key, [...(byAppTenant.get(key) ?? []), c]);
  }
  const findings: Draft[] = [];
  for (const [key, list] of byAppTenant) {
    const [appId, tenantId] = key.split('|') as [string, string];
    const provider = ctx.providers.ofApp(appId);
    findings.push({
      facts: {
        key: `app-disconnected-in-org:app:${appId}:tenant:${tenantId}`,
        cause: 'app-disconnected-in-org',
        confidence: 'likely',
        staffId: list.length === 1 ? list[0]!.staffId : null,
        appId,
        tenantIds: [tenantId],
        connectionIds: list.map((c) => c.id),
        evidence: [
          `${ctx.name.org(tenantId)} is missing from ${provider.terms.name}'s list of connections for ${ctx.name.app(appId)}, while the rest of that sign-in still works.`,
        ],
      },
      wording: { app: ctx.name.app(appId), org: ctx.name.org(tenantId) },
      provider,
    });
  }
  return { findings };
}
