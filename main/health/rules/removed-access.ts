import type { Connection } from '../../../shared/domain.js';
import type { HealthContext } from '../context.js';
import type { Draft } from '../findings.js';

/** Organisations vanishing for one person this close together are read as one removal. */
const REMOVAL_WINDOW = 2 * 3_600_000;

/**
 * A person's access went, not one app's: several organisations vanished from their listings at once, or the
 * same organisation across several apps, or from a person already marked as leaving. Reads the missing
 * connections no earlier rule explained; returns the ones it explains (`claimed`).
 */
export function removedAccessRule(ctx: HealthContext, explained: ReadonlySet<string>): { findings: Draft[]; claimed: ReadonlySet<string> } {
  const { staff } = ctx.input;
  const byStaff = new Map<string, Connection[]>();
  for (const c of ctx.missing) byStaff.set(c.staffId, [...(byStaff.get(c.staffId) ?? []), c]);
  const findings: Draft[] = [];
  const claimed = new Set<string>();
  for (const [staffId, list] of byStaff) {
    const open = list.filter((c) => !explained.has(c.id));
    const tenants = [...new Set(open.map((c) => c.tenantId))];
    const times = open.map((c) => Date.parse(c.missingSince ?? c.lastSeenAt));
    const together = times.length > 0 && Math.max(...times) - Math.min(...times) <= REMOVAL_WINDOW;
    const acrossApps = tenants.some((t) => new Set(open.filter((c) => c.tenantId === t).map((c) => c.appId)).size >= 2);
    const status = staff[staffId]?.status ?? 'active';
    const leaving = status !== 'active';
    if (!(open.length > 0 && together && (tenants.length >= 2 || acrossApps || leaving))) continue;
    for (const c of open) claimed.add(c.id);
    const who = ctx.name.staff(staffId);
    findings.push({
      facts: {
        key: `staff-removed:staff:${staffId}`,
        cause: 'staff-removed',
        confidence: leaving ? 'confirmed' : 'likely',
        staffId,
        appId: null,
        tenantIds: tenants,
        connectionIds: open.map((c) => c.id),
        evidence: [
          tenants.length >= 2
            ? `${tenants.length} organisations disappeared from ${who}'s connections at about the same time, while their sign-ins kept refreshing.`
            : `${ctx.name.org(tenants[0]!)} disappeared from ${acrossApps ? `all of ${who}'s apps at once` : `${who}'s connections`}, while their sign-ins kept refreshing.`,
          ...(leaving ? [`${who} is marked as ${status} in Relink.`] : []),
        ],
      },
      wording: { who, orgCount: tenants.length },
      // One person is one login at one provider (provider-facts.ts says how it is chosen otherwise).
      provider: ctx.providers.among(open.map((c) => c.appId)),
    });
  }
  return { findings, claimed };
}
