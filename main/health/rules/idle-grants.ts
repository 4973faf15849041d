import type { HealthContext } from '../context.js';
import type { Draft, RuleResult } from '../findings.js';

/**
 * Working grants whose refresh token has outlived its provider's lifetime: expired in all likelihood, before
 * any refresh has been refused. Same key as the refused case (refused-grants.ts), so the incident carries on
 * when a check confirms it.
 */
export function idleGrantsRule(ctx: HealthContext): RuleResult {
  const findings: Draft[] = [];
  const explains = new Map<string, string>();
  for (const g of ctx.grants) {
    if (g.state !== 'active' || ctx.daysIdle(g) < ctx.lifetimeDays(g)) continue;
    const provider = ctx.providers.ofApp(g.appId);
    const { name } = provider.terms;
    const { refreshTokenLifetimeDays: lifetime, refreshTokenRolling } = provider.policy;
    const days = Math.floor(ctx.daysIdle(g));
    const conns = ctx.connectionsOf(g);
    const key = `refresh-token-expired:grant:${g.id}`;
    findings.push({
      facts: {
        key,
        cause: 'refresh-token-expired',
        // The provider's rule, not yet its answer: likely, until a refresh is refused (confirmed) or succeeds (gone).
        confidence: 'likely',
        staffId: g.staffId,
        appId: g.appId,
        tenantIds: conns.map((c) => c.tenantId),
        connectionIds: conns.map((c) => c.id),
        evidence: [
          refreshTokenRolling
            ? `Relink last renewed this connection ${days} days ago; ${name} ends connections after ${lifetime} days without renewal. The next check confirms it.`
            : `The token Relink holds for this connection was issued ${days} days ago; ${name} ends connections after ${lifetime} days, however often they are used. The next check confirms it.`,
        ],
      },
      wording: { who: ctx.name.staff(g.staffId), app: ctx.name.app(g.appId), orgCount: conns.length },
      provider,
    });
    explains.set(g.id, key);
  }
  return { findings, explains };
}
