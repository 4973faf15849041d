import type { Cause } from '../../../shared/domain.js';
import type { HealthContext } from '../context.js';
import type { Draft } from '../findings.js';

/** Per-organisation API refusals on connections that are still listed: a missing permission, a narrow role, or no access. */
export function apiRefusalsRule(ctx: HealthContext): { findings: Draft[] } {
  const findings: Draft[] = [];
  for (const c of Object.values(ctx.input.connections)) {
    const f = c.lastApiFailure;
    if (!c.present || !f || ctx.input.grants[c.grantId]?.state !== 'active') continue;
    const cause: Cause | null =
      f.kind === 'insufficient-scope' ? 'scope-missing' : f.kind === 'role-restricted' ? 'role-restricted' : f.kind === 'forbidden' ? 'staff-removed' : null;
    if (!cause) continue;
    const provider = ctx.providers.ofApp(c.appId);
    findings.push({
      facts: {
        key: `${cause}:grant:${c.grantId}:tenant:${c.tenantId}`,
        cause,
        confidence: cause === 'scope-missing' ? 'confirmed' : cause === 'role-restricted' ? 'likely' : 'possible',
        staffId: c.staffId,
        appId: c.appId,
        tenantIds: [c.tenantId],
        connectionIds: [c.id],
        evidence: [`${provider.terms.name} answered ${f.detail} for ${ctx.name.org(c.tenantId)}.`],
      },
      wording: { who: ctx.name.staff(c.staffId), app: ctx.name.app(c.appId), org: ctx.name.org(c.tenantId), orgCount: 1 },
      provider,
    });
  }
  return { findings };
}
