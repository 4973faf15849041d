import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { auditReportSchema, reconnectPlanSchema } from '../../../shared/workflows.js';
import { NEEDS_KEYCHAIN, addAppArgs, cliWorld, extraApp, hasSecretService } from '../../support/relink-cli.js';
import { connectAs, useCliProfiles } from '../../support/cli-profile.js';

/**
 * The firm-workflow commands on a profile that really connected through the sandbox, with refresh tokens in the
 * real keychain: a password change Relink detects → `relink plan reconnect` shows the minimum consents;
 * `relink password-changed` records the declaration; `relink audit staff` lists what depends on the person.
 */
const { sb, profile } = useCliProfiles('wf-sandbox', { sandbox: 'reset-each-test' });

describe('relink plan / password-changed / audit against the sandbox', { timeout: 90_000 }, () => {
  it.skipIf(!hasSecretService)(`a detected password change across 2 apps → plan with one consent per app; audit lists both${NEEDS_KEYCHAIN}`, async () => {
    const p = profile();
    const w = await cliWorld(sb, { orgs: 3 });
    const second = await extraApp(sb);
    await p.ok(addAppArgs(sb, 'Practice Sync', w));
    await p.ok(addAppArgs(sb, 'Payroll Bridge', second, ['--created-by', w.email]));
    await connectAs(p, sb, { id: 'practice-sync', clientId: w.clientId }, w.userId, w.tenantIds);
    await connectAs(p, sb, { id: 'payroll-bridge', clientId: second.clientId }, w.userId, w.tenantIds);
    const healthy = reconnectPlanSchema.parse(JSON.parse((await p.ok(['plan', 'reconnect', '--json'])).stdout));
    expect(healthy.consents).toEqual([]);
    expect((await p.ok(['plan', 'reconnect'])).stdout).toBe('Nothing needs reconnecting.\n');

    await sb.control('POST', `/sandbox/users/${w.userId}/password`);
    // Xero refuses the grants in this check: exit 5 tells a script so.
    expect((await p.run(['check'])).code).toBe(5);
    const plan = reconnectPlanSchema.parse(JSON.parse((await p.ok(['plan', 'reconnect', '--staff', w.email, '--json'])).stdout));
    expect(plan.consents.map((c) => [c.appId, c.staffId, c.orgIds.length])).toEqual([
      ['payroll-bridge', w.userId, 3],
      ['practice-sync', w.userId, 3],
    ]);
    expect(plan.triggers).toEqual([expect.objectContaining({ kind: 'detected', staffId: w.userId })]);

    const declared = await p.ok(['password-changed', w.userId]);
    expect(declared.stdout).toMatch(/^Recorded: Ada Adviser's Xero password changed\./);
    expect(declared.stdout).toMatch(/Reconnect plan for Ada Adviser .*: 2 consents for 3 organisations across 2 apps\./);

    const audit = auditReportSchema.parse(JSON.parse((await p.ok(['audit', 'staff', w.email, '--json'])).stdout));
    expect(audit.connections).toHaveLength(6);
    expect(audit.connections.every((c) => c.health === 'needs-reconnect' && c.state === 'depends')).toBe(true);
    expect(audit.appsCreated.map((a) => a.appId)).toEqual(['payroll-bridge']);
    expect(audit.verdict).toBe('not-safe');
    const csv = parse((await p.ok(['audit', 'staff', w.email, '--csv'])).stdout) as string[][];
    expect(csv).toHaveLength(1 + 6 + 1);

    // Nothing printed anywhere held a token.
    for (const text of p.transcript) expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
  });
});
