import type { App } from '../../../shared/domain.js';
import type { PlanStepResult } from '../../../shared/workflows.js';
import type { RelinkService } from '../../../main/service/relink-service.js';
import { grantAccount } from '../../../main/secrets/vault.js';
import { followAuthorize } from '../../support/headless-browser.js';
import type { Harness } from '../../support/relink-harness.js';
import type { TestSandbox } from '../../support/sandbox.js';

/**
 * Helpers for driving the firm workflows against the sandbox: the consent each step opens is arranged through
 * the sandbox's control API first (who approves, which organisations are ticked), and the "system browser" is
 * the headless follower, exactly as the service tests do for a single connect.
 */

/** The opener a host passes to runNextPlanItem / runOffboardingMove. */
export const headless = { open: async (url: string) => void (await followAuthorize(url)), timeoutMs: 10_000 };

export async function arrange(sb: TestSandbox, app: App, userId: string, tenantIds: string[]): Promise<void> {
  await sb.control('POST', '/sandbox/consents', { clientId: app.clientId, userId, tenantIds });
}

/** Runs the next queued step of a plan with the consent arranged as `userId` ticking `tenantIds` (default: the step's). */
export async function runStep(
  sb: TestSandbox,
  service: RelinkService,
  runId: string,
  opts: { userId?: string; tenantIds?: string[]; itemId?: string } = {},
): Promise<PlanStepResult> {
  const run = service.workflows.reconnectRun(runId);
  const item = run.items.find((i) => i.id === (opts.itemId ?? run.nextItemId));
  if (!item) throw new Error(`nothing to run in ${runId}`);
  const app = service.apps().find((a) => a.id === item.appId)!;
  await arrange(sb, app, opts.userId ?? item.staffId, opts.tenantIds ?? item.remainingOrgIds);
  return service.workflows.runNextPlanItem(runId, headless, opts.itemId ? { itemId: opts.itemId } : {});
}

/** Deletes every grant's keychain entry the profile holds (the harness only knows those it connected itself). */
export async function forgetGrants(h: Harness | undefined, service: RelinkService | undefined): Promise<void> {
  if (!h || !service) return;
  for (const id of Object.keys(service.store.peek().grants)) await h.keychain.delete(h.keychainService, grantAccount(id)).catch(() => false);
}
