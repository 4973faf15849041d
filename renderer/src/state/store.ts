import { useEffect, useSyncExternalStore } from 'react';
import type {
  ApiResult,
  IncidentEventView,
  Operation,
  PassSummaryView,
  RelinkBridge,
  RequestArgs,
  RequestChannel,
  RequestResult,
  Session,
  StatusSnapshot,
} from '../../../shared/api.js';
import { getBridge } from '../api/bridge.js';
import { StatusSync } from './status-sync.js';

/**
 * The renderer's one store. Main owns the state: this only keeps the latest snapshot, session and operations
 * it pushed, and sends intents back. Nothing here decides a connection's health; views render what main says.
 */

export interface CheckState {
  running: boolean;
  /** The check covers one app's or one person's sign-ins, not every connection. */
  scoped: boolean;
  summary: PassSummaryView | null;
  error: string | null;
  /** When the last check finished (the snapshot's clock, which the demo may have moved). */
  at: string | null;
}

export interface RelinkState {
  phase: 'starting' | 'ready' | 'failed';
  /** Why Relink could not start (shown with a Try again button). */
  startError: string | null;
  session: Session | null;
  snapshot: StatusSnapshot | null;
  /** Newest first. */
  operations: readonly Operation[];
  /** Finished operations the advisor has dismissed from view. */
  dismissed: ReadonlySet<string>;
  /** The first-run flow stays on screen until the advisor leaves it, even once an app exists. */
  onboarding: boolean;
  check: CheckState;
  /** The latest sentence for the screen-reader live region (incidents opening and recovering). */
  announcement: { id: number; text: string } | null;
  /** Operations shown in place on the current view (by a Reconnect button), so the tray leaves them out. */
  claimed: ReadonlyMap<string, number>;
  /**
   * What just happened because the advisor did something ("Saved: Xero accepts Harbour Reporting again"), shown
   * above the view until dismissed or the advisor moves to another view. Newest first.
   */
  notices: readonly Notice[];
}

export interface Notice {
  id: number;
  tone: 'ok' | 'warn' | 'bad' | 'info';
  text: string;
  /** When it was shown (this computer's clock), so focus that lost its place can land on a fresh one. */
  at: number;
}

const initial: RelinkState = {
  phase: 'starting',
  startError: null,
  session: null,
  snapshot: null,
  operations: [],
  dismissed: new Set(),
  onboarding: false,
  check: { running: false, scoped: false, summary: null, error: null, at: null },
  announcement: null,
  claimed: new Map(),
  notices: [],
};

let state: RelinkState = initial;
const listeners = new Set<() => void>();
let bridge: RelinkBridge | null = null;
let unsubscribers: Array<() => void> = [];
let announcementSeq = 0;
/** Applies main's status pushes in version order; a new one each start(). */
let statusSync = newStatusSync();
let noticeSeq = 0;

/**
 * How long a finished sign-in stays in the corner tray: long enough to read its result, short enough that the
 * tray does not fill with history (the Activity view keeps that). A failure stays longer: it asks for action.
 */
export const TRAY_KEEPS_MS = { succeeded: 60_000, cancelled: 60_000, failed: 10 * 60_000 } as const;
const forgetting = new Map<string, ReturnType<typeof setTimeout>>();

function set(patch: Partial<RelinkState> | ((s: RelinkState) => Partial<RelinkState>)): void {
  const next = typeof patch === 'function' ? patch(state) : patch;
  state = { ...state, ...next };
  for (const l of listeners) l();
}

export function getState(): RelinkState {
  return state;
}

function newStatusSync(): StatusSync {
  return new StatusSync({
    fetchStatus: () => request('status.get', {}),
    fetchVersion: () => request('status.sync', {}),
    get: () => state.snapshot,
    set: (snapshot) => set({ snapshot }),
  });
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Read a slice of the store; the selector must return something already in the state (or a primitive). */
export function useRelink<T>(selector: (s: RelinkState) => T): T {
  return useSyncExternalStore(subscribe, () => selector(state));
}

/** The latest snapshot; only call below a component that has checked it is there. */
export function useSnapshot(): StatusSnapshot {
  const snapshot = useRelink((s) => s.snapshot);
  if (!snapshot) throw new Error('Relink: a view asked for the status before it arrived.');
  return snapshot;
}

const notConnected: ApiResult<never> = {
  ok: false,
  error: { code: 'unreachable', message: "Relink's window is not connected to its service. Restart Relink and try again." },
};

/** Every request goes through here; failures come back as values with a message written for the advisor. */
export async function request<C extends RequestChannel>(channel: C, args: RequestArgs<C>): Promise<ApiResult<RequestResult<C>>> {
  if (!bridge) return notConnected;
  try {
    return await bridge.invoke(channel, args);
  } catch {
    // The contract says invoke never throws for API failures; a throw means the transport itself broke.
    return notConnected;
  }
}

function upsertOperation(op: Operation): void {
  set((s) => {
    const rest = s.operations.filter((o) => o.id !== op.id);
    return { operations: [op, ...rest].sort((a, b) => b.startedAt.localeCompare(a.startedAt)) };
  });
  if (op.finishedAt && op.state in TRAY_KEEPS_MS && !forgetting.has(op.id)) {
    forgetting.set(op.id, setTimeout(() => dismissOperation(op.id), TRAY_KEEPS_MS[op.state as keyof typeof TRAY_KEEPS_MS]));
  }
}

/** Shows a notice above the view (and a screen reader hears it: the notices are a live region). */
export function notify(text: string, tone: Notice['tone'] = 'ok'): void {
  noticeSeq += 1;
  const notice: Notice = { id: noticeSeq, tone, text, at: Date.now() };
  set((s) => ({ notices: [notice, ...s.notices].slice(0, 3) }));
}

export function dismissNotice(id: number): void {
  set((s) => ({ notices: s.notices.filter((n) => n.id !== id) }));
}

/** Notices are about the view the advisor acted on; moving on clears them. */
export function clearNotices(): void {
  if (state.notices.length) set({ notices: [] });
}

function announce(text: string): void {
  announcementSeq += 1;
  set({ announcement: { id: announcementSeq, text } });
}

/** Connects to main, subscribes to its events and loads the first picture. Safe to call again after a failure. */
export async function start(): Promise<void> {
  for (const u of unsubscribers) u();
  unsubscribers = [];
  set({ phase: 'starting', startError: null });
  try {
    bridge = getBridge();
  } catch (err) {
    set({ phase: 'failed', startError: err instanceof Error ? err.message : "Relink's service is not available in this window." });
    return;
  }
  const sync = (statusSync = newStatusSync());
  unsubscribers = [
    bridge.on('status', (full) => sync.adopt(full)),
    bridge.on('statusDelta', (delta) => sync.delta(delta)),
    bridge.on('session', (session) => {
      set({ session });
      // Also after browser mode's socket reconnects: pushes sent while it was down are lost, so check the version.
      if (sync.version !== null) void sync.catchUp();
    }),
    bridge.on('operation', (op) => upsertOperation(op)),
    bridge.on('incident', (e: IncidentEventView) => announce(e.kind === 'opened' ? `New problem: ${e.summary}.` : `Resolved: ${e.summary}.`)),
  ];
  const [session, snapshot, operations] = await Promise.all([
    request('session.get', {}),
    sync.resync(),
    request('operations.list', {}),
  ]);
  if (!session.ok) {
    set({ phase: 'failed', startError: session.error.message });
    return;
  }
  if (!snapshot.ok) {
    set({ phase: 'failed', startError: snapshot.error.message, session: session.value });
    return;
  }
  set((s) => ({
    phase: 'ready',
    session: session.value,
    // Pushes that raced the first request are already applied in version order (status-sync.ts).
    snapshot: s.snapshot ?? snapshot.value,
    operations: operations.ok ? [...operations.value].sort((a, b) => b.startedAt.localeCompare(a.startedAt)) : s.operations,
    // Sign-ins that finished before this window opened are history (the Activity view), not news.
    dismissed: operations.ok
      ? new Set([...s.dismissed, ...operations.value.filter((o) => o.finishedAt !== null).map((o) => o.id)])
      : s.dismissed,
    onboarding: session.value.firstRun,
  }));
}

/** Brings the window's status up to main's now: usually a small delta, the whole picture only after a gap. */
async function refreshStatus(): Promise<void> {
  await statusSync.catchUp();
}

export interface ConnectTarget {
  appId: string;
  staffId: string | null;
  tenantId: string | null;
  /** Organisations the consent should bring back, so the result can say which did not. */
  tenantIds?: string[];
}

/**
 * A web app's new client secret; main stores it in the keychain and checks the app's connections. When Xero
 * accepts it the form that asked for it disappears with the problem, so the result is also a notice above the
 * view: the advisor sees that the fix worked, not just that something vanished.
 */
export async function updateAppSecret(appId: string, clientSecret: string): Promise<ApiResult<PassSummaryView>> {
  const result = await request('apps.updateSecret', { appId, clientSecret });
  if (result.ok) {
    const name = state.snapshot?.apps.find((a) => a.id === appId)?.name ?? 'The app';
    const s = result.value;
    if (s.appRejected === 0) {
      const all = s.refreshed === s.grants;
      notify(
        all
          ? `Saved. Xero accepts ${name}'s new secret: ${s.grants === 1 ? 'its sign-in works' : `all ${s.grants.toLocaleString()} of its sign-ins work`} again.`
          : `Saved. Xero accepts ${name}'s new secret: ${s.refreshed} of its ${s.grants.toLocaleString()} sign-ins work again${s.transient ? `; Relink retries the other ${s.transient}` : ''}.`,
        all ? 'ok' : 'warn',
      );
    }
    void refreshStatus();
  }
  return result;
}

/** One-click reconnect (or a first connection): opens the system browser; progress arrives as events. */
export async function connect(target: ConnectTarget): Promise<ApiResult<Operation>> {
  const result = await request('connect.start', target);
  if (result.ok) upsertOperation(result.value);
  return result;
}

export async function cancelOperation(operationId: string): Promise<ApiResult<{ cancelled: boolean }>> {
  return request('connect.cancel', { operationId });
}

export function dismissOperation(operationId: string): void {
  set((s) => ({ dismissed: new Set([...s.dismissed, operationId]) }));
}

/** A view shows this operation in place while mounted; returns the release. */
export function claimOperation(operationId: string): () => void {
  const bump = (by: number) =>
    set((s) => {
      const claimed = new Map(s.claimed);
      const n = (claimed.get(operationId) ?? 0) + by;
      if (n > 0) claimed.set(operationId, n);
      else claimed.delete(operationId);
      return { claimed };
    });
  bump(1);
  return () => bump(-1);
}

export async function runCheck(scope: { appId?: string; staffId?: string } = {}): Promise<ApiResult<PassSummaryView>> {
  set((s) => ({ check: { ...s.check, running: true, scoped: !!(scope.appId || scope.staffId), error: null } }));
  const result = await request('check.run', scope);
  set((s) => ({
    check: result.ok
      ? { running: false, scoped: s.check.scoped, summary: result.value, error: null, at: s.snapshot?.generatedAt ?? null }
      : { ...s.check, running: false, error: result.error.message },
  }));
  // The status event follows a check, but ask too so the window never shows an older picture than the answer.
  if (result.ok) void refreshStatus();
  return result;
}

export async function startDemo(): Promise<ApiResult<Session>> {
  const result = await request('demo.start', {});
  if (result.ok) {
    set({ session: result.value, onboarding: false });
    await refreshStatus();
  }
  return result;
}

/** An app was added during first run: keep the first-run flow for its Connect step, but take the new picture. */
export async function afterAppAdded(): Promise<void> {
  const session = await request('session.get', {});
  if (session.ok) set({ session: session.value });
  await refreshStatus();
}

export function finishOnboarding(): void {
  set({ onboarding: false });
}

export function replaceSettingsInSnapshot(settings: StatusSnapshot['settings']): void {
  set((s) => (s.snapshot ? { snapshot: { ...s.snapshot, settings } } : {}));
}

// ── firm workflows (issue 5) ──────────────────────────────────────────────────────────────────────

/** Ask main for the latest picture now (after a workflow step changed connections). */
export function refreshSnapshot(): Promise<void> {
  return refreshStatus();
}

/** The next consent of a reconnect plan (or a given item: a retry); progress arrives as `operation` events. */
export async function startPlanStep(runId: string, itemId?: string): Promise<ApiResult<Operation>> {
  const result = await request('plan.runNext', itemId ? { runId, itemId } : { runId });
  if (result.ok) upsertOperation(result.value);
  return result;
}

/** Reconnect one of a leaver's apps as the advisor taking over; progress arrives as `operation` events. */
export async function startAuditMove(staffId: string, appId: string, tenantId?: string): Promise<ApiResult<Operation>> {
  const result = await request('audit.move', tenantId ? { staffId, appId, tenantId } : { staffId, appId });
  if (result.ok) upsertOperation(result.value);
  return result;
}

/**
 * Saves text the window produced (a CSV): the desktop app asks where (main's save dialog); in browser mode the
 * window downloads it itself, as main cannot reach the advisor's Downloads folder.
 */
export async function saveTextFile(fileName: string, content: string, type = 'text/csv;charset=utf-8'): Promise<ApiResult<{ saved: boolean }>> {
  if (state.session?.host === 'electron') return request('file.save', { fileName, content });
  const url = URL.createObjectURL(new Blob([content], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return { ok: true, value: { saved: true } };
}

/** The report page as PDF: Electron prints it with printToPDF; a browser opens its print dialog ("Save as PDF"). */
export async function savePagePdf(fileName: string): Promise<ApiResult<{ saved: boolean }>> {
  if (state.session?.host === 'electron') return request('report.savePdf', { fileName });
  window.print();
  return { ok: true, value: { saved: true } };
}

/** Claims every operation matching `pick` while the calling view is mounted (it shows them, so the tray leaves them out). */
export function useClaimOperations(pick: (op: Operation) => boolean): void {
  const ops = useRelink((s) => s.operations);
  const key = ops
    .filter(pick)
    .map((o) => o.id)
    .join(' ');
  useEffect(() => {
    const releases = key ? key.split(' ').map((id) => claimOperation(id)) : [];
    return () => releases.forEach((r) => r());
  }, [key]);
}
