import type { HealthContext } from '../context.js';
import type { Draft } from '../findings.js';

/**
 * Missing organisations the same app now reaches through another, newer grant: replaced, not lost. What it
 * claims (`superseded`) is history, not a problem, and no later rule reads those connections again.
 */
export function replacedConnectionsRule(ctx: HealthContext): { findings: Draft[]; superseded: ReadonlySet<string> } {
  const { connections, grants } = ctx.input;
  const findings: Draft[] = [];
  const superseded = new Set<string>();
  for (const c of ctx.missing) {
    const successor = Object.values(connections).find(
      (o) =>
        o.id !== c.id &&
        o.present &&
        o.appId === c.appId &&
        o.tenantId === c.tenantId &&
        o.grantId !== c.grantId &&
        // A refused grant's last listing is history: it reaches nothing now and cannot have taken over.
        grants[o.grantId]?.state === 'active',
    );
    if (!successor) continue;
    superseded.add(c.id);
    findings.push({
      facts: {
        key: `token-replaced:grant:${c.grantId}:tenant:${c.tenantId}`,
        cause: 'token-replaced',
        confidence: 'likely',
        staffId: c.staffId,
        appId: c.appId,
        tenantIds: [c.tenantId],
        connectionIds: [c.id],
        evidence: [
          `${ctx.name.org(c.tenantId)} no longer appears in this sign-in's connections, but it does under ${ctx.name.staff(successor.staffId)}'s newer authorisation.`,
        ],
      },
      wording: { app: ctx.name.app(c.appId), org: ctx.name.org(c.tenantId) },
      provider: ctx.providers.ofApp(c.appId),
    });
  }
  return { findings, superseded };
}
