import type { ConnectReport } from '../../shared/api.js';
import type {
  PlanItem,
  PlanProgress,
  PlanTracked,
  ReconnectPlan,
  ReconnectRun,
  ReconnectRunView,
  RunState,
} from '../../shared/workflows.js';
import { trackedView } from './tracked-health.js';
import { appName, appProvider, listNames, orgName, staffName, type ProviderFacts, type WorkflowWorld } from './world.js';

/**
 * Working through a reconnect plan, one consent at a time. Pure transitions on a `ReconnectRun` (the caller
 * stores the result), so a restart resumes exactly where the advisor was.
 *
 * After each consent the item is judged from the connect report, which Relink builds from
 * `/connections?authEventId=…` (what this consent ticked) and `/connections` (what the new token reaches):
 * - organisations back → recorded; an item is done when all of its organisations are back;
 * - an organisation left unticked stays queued in the same item, with the reason, so one more consent for that
 *   app and person finishes it (never a new plan);
 * - an organisation ticked that another item of the same app and person plans completes that item;
 * - an organisation ticked that no item plans is a connection the advisor did not set out to make (a wrong box
 *   ticked on the provider's consent page connects a new client): it is flagged, never reported as plain "done"
 *   (outcome `unplanned`), and the run view offers to disconnect it;
 * - approved by someone other than the planned staff member → not counted: the item fails with the warning,
 *   because the organisations now depend on that other person.
 */

export type StepOutcome = 'done' | 'unplanned' | 'partial' | 'failed' | 'wrong-person';

export function createRun(
  plan: ReconnectPlan,
  opts: { id: string; now: string; actor: 'advisor' | 'cli'; person?: string; staffId: string | null },
): ReconnectRun {
  const items: PlanItem[] = plan.consents.map((c) => ({
    id: c.id,
    appId: c.appId,
    staffId: c.staffId,
    orgIds: [...c.orgIds],
    remainingOrgIds: [...c.orgIds],
    reconnectedOrgIds: [],
    extraOrgIds: [],
    state: 'pending',
    reason: null,
    attempts: 0,
    lastAttemptAt: null,
    finishedAt: null,
    approvedBy: null,
    warning: null,
  }));
  return {
    id: opts.id,
    createdAt: opts.now,
    createdBy: opts.actor,
    ...(opts.person ? { person: opts.person } : {}),
    staffId: opts.staffId,
    state: items.length ? 'running' : 'complete',
    stateSince: opts.now,
    items,
    trackedIds: plan.tracked.map((t) => t.id),
  };
}

export function progress(run: Pick<ReconnectRun, 'items'>): PlanProgress {
  const count = (s: PlanItem['state']) => run.items.filter((i) => i.state === s).length;
  return { total: run.items.length, done: count('done'), remaining: count('pending'), failed: count('failed'), skipped: count('skipped') };
}

export function nextItem(run: ReconnectRun): PlanItem | undefined {
  return run.items.find((i) => i.state === 'pending');
}

/** A run is complete once nothing is queued or failed (skipped items are the advisor's decision). */
function settle(run: ReconnectRun, now: string): ReconnectRun {
  const p = progress(run);
  const complete = p.remaining === 0 && p.failed === 0;
  let state: RunState = run.state;
  if (complete && (run.state === 'running' || run.state === 'paused')) state = 'complete';
  else if (!complete && run.state === 'complete') state = 'running';
  return state === run.state ? run : { ...run, state, stateSince: now };
}

function withItem(run: ReconnectRun, itemId: string, change: (i: PlanItem) => PlanItem): ReconnectRun {
  if (!run.items.some((i) => i.id === itemId)) throw new Error(`No item ${itemId} in plan ${run.id}.`);
  return { ...run, items: run.items.map((i) => (i.id === itemId ? change(i) : i)) };
}

export interface Judged {
  run: ReconnectRun;
  outcome: StepOutcome;
  message: string;
}

/** Record what one consent brought back for `itemId`. */
export function recordConsent(
  run: ReconnectRun,
  itemId: string,
  report: ConnectReport,
  world: Pick<WorkflowWorld, 'organisations' | 'staff'> & ProviderFacts,
  now: string,
): Judged {
  const item = run.items.find((i) => i.id === itemId);
  if (!item) throw new Error(`No item ${itemId} in plan ${run.id}.`);
  const plannedName = staffName(world, item.staffId);
  const app = appName(world, item.appId);
  const provider = appProvider(world, item.appId).terms.name;

  if (report.staff.id !== item.staffId) {
    const approver = `${report.staff.name}${report.staff.email ? ` (${report.staff.email})` : ''}`;
    const reason =
      `Approved in ${provider} by ${approver}, not by ${plannedName}, so it does not count: those organisations now depend on ` +
      `${report.staff.name}. Sign in to ${provider} as ${plannedName} and run this step again, or skip it.`;
    const next = withItem(run, itemId, (i) => ({
      ...i,
      state: 'failed',
      reason,
      warning: report.warning ?? reason,
      approvedBy: { ...report.staff },
      attempts: i.attempts + 1,
      lastAttemptAt: now,
      finishedAt: null,
    }));
    return { run: settle(next, now), outcome: 'wrong-person', message: reason };
  }

  const reachable = new Set([...report.connected, ...report.reconnected].map((o) => o.tenantId));
  const back = item.remainingOrgIds.filter((t) => reachable.has(t));
  const missing = item.remainingOrgIds.filter((t) => !reachable.has(t));
  // Planned by any item for this app and person: connecting it is what the advisor set out to do.
  const planned = new Set(run.items.filter((i) => i.appId === item.appId && i.staffId === item.staffId).flatMap((i) => i.orgIds));
  const extra = report.connected.map((o) => o.tenantId).filter((t) => !planned.has(t) && !item.extraOrgIds.includes(t));
  const names = (ts: string[]) => listNames(ts.map((t) => orgName(world, t)), 5);
  const them = extra.length === 1 ? 'it' : 'them';
  const extraNote = extra.length
    ? ` Not planned: this approval also connected ${names(extra)} to ${app}, which the plan did not ask for. If ${extra.length === 1 ? 'it was' : 'they were'} ticked by mistake, disconnect ${them}.`
    : '';
  const whyMissing = (t: string) =>
    report.stillMissing.find((m) => m.tenantId === t)?.reason ?? `${provider} does not list ${orgName(world, t)} for ${app} after this approval: approve again and tick it.`;
  const reason = missing.length
    ? `Still missing: ${missing.map((t) => `${orgName(world, t)} (${whyMissing(t)})`).join('; ')}.${extraNote}`
    : extraNote.trim() || null;

  let next = withItem(run, itemId, (i) => ({
    ...i,
    remainingOrgIds: missing,
    reconnectedOrgIds: [...i.reconnectedOrgIds, ...back],
    extraOrgIds: [...i.extraOrgIds, ...extra],
    state: missing.length ? 'pending' : 'done',
    reason,
    warning: null,
    approvedBy: { ...report.staff },
    attempts: i.attempts + 1,
    lastAttemptAt: now,
    finishedAt: missing.length ? null : now,
  }));
  // The same approval may complete other queued items for this app and person (one organisation per item for
  // an app without multi-organisation consent, where the advisor chose a different organisation).
  next = {
    ...next,
    items: next.items.map((i) => {
      if (i.id === itemId || i.appId !== item.appId || i.staffId !== item.staffId || (i.state !== 'pending' && i.state !== 'failed')) return i;
      const nowBack = i.remainingOrgIds.filter((t) => reachable.has(t));
      if (nowBack.length === 0) return i;
      const left = i.remainingOrgIds.filter((t) => !reachable.has(t));
      return {
        ...i,
        remainingOrgIds: left,
        reconnectedOrgIds: [...i.reconnectedOrgIds, ...nowBack],
        state: left.length ? i.state : 'done',
        reason: left.length ? i.reason : `Brought back by another approval for ${app} in this plan.`,
        finishedAt: left.length ? null : now,
      };
    }),
  };
  const message = missing.length
    ? `${app}: not finished. Still missing: ${names(missing)} — ${missing.map(whyMissing).filter((r, i, all) => all.indexOf(r) === i).join(' ')}${back.length ? ` Back: ${names(back)}.` : ''}${extraNote}`
    : `${app}: ${back.length ? `${names(back)} back as ${plannedName}` : 'nothing was left to bring back'}.${extraNote}`;
  return { run: settle(next, now), outcome: missing.length ? 'partial' : extra.length ? 'unplanned' : 'done', message };
}

/** The consent could not be given (declined, timed out, the provider unreachable…): the item fails with the reason. */
export function recordFailure(run: ReconnectRun, itemId: string, reason: string, now: string): ReconnectRun {
  const next = withItem(run, itemId, (i) => ({ ...i, state: 'failed', reason, attempts: i.attempts + 1, lastAttemptAt: now, finishedAt: null }));
  return settle(next, now);
}

export function skipItem(run: ReconnectRun, itemId: string, reason: string, now: string): ReconnectRun {
  const next = withItem(run, itemId, (i) => (i.state === 'done' ? i : { ...i, state: 'skipped', reason, finishedAt: now }));
  return settle(next, now);
}

/** A skipped or failed item back in the queue (before running it again). */
export function requeueItem(run: ReconnectRun, itemId: string, now: string): ReconnectRun {
  const next = withItem(run, itemId, (i) => (i.state === 'done' ? i : { ...i, state: 'pending', finishedAt: null }));
  return settle({ ...next, state: next.state === 'complete' ? 'running' : next.state }, now);
}

export function setRunState(run: ReconnectRun, state: RunState, now: string): ReconnectRun {
  return run.state === state ? run : settle({ ...run, state, stateSince: now }, now);
}

export function runView(run: ReconnectRun, world: WorkflowWorld): ReconnectRunView {
  const tracked: PlanTracked[] = run.trackedIds.flatMap((id) => {
    const t = world.tracked[id];
    if (!t) return [];
    const v = trackedView(t, world);
    return [{ id: v.id, tenantId: v.tenantId, organisation: v.organisation, app: v.app, reconnectUrl: v.reconnectUrl, state: v.state, reason: v.reason, authorisedBy: v.authorisedBy }];
  });
  return {
    id: run.id,
    createdAt: run.createdAt,
    createdBy: run.createdBy,
    staffId: run.staffId,
    state: run.state,
    stateSince: run.stateSince,
    trackedIds: [...run.trackedIds],
    items: run.items.map((i) => {
      const s = world.staff[i.staffId];
      return {
        ...structuredClone(i),
        appName: appName(world, i.appId),
        staffName: staffName(world, i.staffId),
        staffEmail: s?.email ?? '',
        // As the plan says it: only where one consent can connect many organisations.
        multiOrgConsent: (world.apps[i.appId]?.multiOrgConsent ?? false) && appProvider(world, i.appId).policy.consent === 'many-organisations',
        organisations: [
          ...i.orgIds.map((t) => ({
            tenantId: t,
            name: orgName(world, t),
            state: i.remainingOrgIds.includes(t) ? ('queued' as const) : ('reconnected' as const),
            connectionId: null,
          })),
          ...i.extraOrgIds.map((t) => {
            const c = Object.values(world.connections).find((x) => x.appId === i.appId && x.staffId === i.staffId && x.tenantId === t && x.present);
            return { tenantId: t, name: orgName(world, t), state: c ? ('unplanned' as const) : ('disconnected' as const), connectionId: c?.id ?? null };
          }),
        ],
      };
    }),
    progress: progress(run),
    nextItemId: run.state === 'running' ? (nextItem(run)?.id ?? null) : null,
    tracked,
  };
}
