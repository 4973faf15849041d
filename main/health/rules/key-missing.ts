import type { HealthContext } from '../context.js';
import type { Draft, RuleResult } from '../findings.js';

/**
 * Keys gone from a keychain that works: only a new consent stores one again, so each grant is its own
 * finding. Its claim on the grant's verdict ranks below the rules that judge the grant itself.
 */
export function keyMissingRule(ctx: HealthContext): RuleResult {
  if (ctx.input.keychain !== 'available') return { findings: [] };
  const findings: Draft[] = [];
  const explains = new Map<string, string>();
  for (const g of ctx.grants) {
    if (g.state !== 'active' || g.consecutiveFailures === 0 || g.lastFailure?.kind !== 'key-missing') continue;
    const conns = ctx.connectionsOf(g);
    const key = `key-missing:grant:${g.id}`;
    findings.push({
      facts: {
        key,
        cause: 'key-missing',
        confidence: 'confirmed',
        staffId: g.staffId,
        appId: g.appId,
        tenantIds: [...new Set(conns.map((c) => c.tenantId))],
        connectionIds: conns.map((c) => c.id),
        evidence: ['The keychain is unlocked and answered, but it holds no key for this connection.'],
      },
      wording: { who: ctx.name.staff(g.staffId), app: ctx.name.app(g.appId), orgCount: conns.length },
      provider: ctx.providers.ofApp(g.appId),
    });
    explains.set(g.id, key);
  }
  return { findings, explains };
}
