import { useSyncExternalStore } from 'react';

/**
 * Views live in the URL hash (`#/organisations/<tenantId>?health=needs-reconnect`): it works the same from
 * Electron's file:// page and browser mode's http page, needs no server routes, and lets tests open a view
 * directly. Hashes that do not start with `#/` (the skip link's `#main`) are not routes and are ignored.
 */

export const VIEWS = ['overview', 'organisations', 'apps', 'staff', 'tracked', 'activity', 'explain', 'settings', 'reconnect', 'offboarding', 'reports'] as const;
export type ViewId = (typeof VIEWS)[number];

/** The views the sidebar links to; the others (a plan, an audit, a report) are reached from those. */
export const NAV_VIEWS = ['overview', 'organisations', 'apps', 'staff', 'tracked', 'activity', 'explain', 'settings'] as const satisfies readonly ViewId[];

export const VIEW_TITLES: Record<ViewId, string> = {
  overview: 'Overview',
  organisations: 'Organisations',
  apps: 'Apps',
  staff: 'Staff',
  tracked: 'Third-party apps',
  activity: 'Activity',
  explain: 'Explain an error',
  settings: 'Settings',
  reconnect: 'Reconnect plan',
  offboarding: 'Offboarding',
  reports: 'Report',
};

export interface Route {
  view: ViewId;
  /** `#/organisations/<id>`: the organisation whose detail is open. */
  id: string | null;
  /** `#/reports/offboarding/<staffId>`: the part after the id. */
  sub: string | null;
  params: URLSearchParams;
  /** The raw hash, so the route object only changes when the URL does. */
  key: string;
}

const home: Route = { view: 'overview', id: null, sub: null, params: new URLSearchParams(), key: '' };
let current: Route = parseRoute(window.location.hash, home);

/** The route a hash names; `fallback` for a hash that is not a route (`#main`). An unknown view is the overview. */
export function parseRoute(hash: string, fallback: Route = home): Route {
  if (!hash.startsWith('#/')) return fallback;
  const [path = '', query = ''] = hash.slice(2).split('?', 2);
  const [view, id, sub] = path.split('/', 3);
  const known = (VIEWS as readonly string[]).includes(view ?? '') ? (view as ViewId) : 'overview';
  return {
    view: known,
    id: id ? decode(id) : null,
    sub: sub ? decode(sub) : null,
    params: new URLSearchParams(query),
    key: hash,
  };
}

/** A hand-typed or truncated `%` escape must not break the window: such a segment is taken as written. */
function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

const listeners = new Set<() => void>();
/** Set when the view changes, so the new view's heading takes focus (and a screen reader says where we are). */
let focusPending = false;

export function consumeViewFocus(): boolean {
  const pending = focusPending;
  focusPending = false;
  return pending;
}

window.addEventListener('hashchange', () => {
  const next = parseRoute(window.location.hash, current);
  if (next.key === current.key) return;
  if (next.view !== current.view) focusPending = true;
  current = next;
  for (const l of listeners) l();
});

/** The route on screen now (the same object until the URL changes). */
export function getRoute(): Route {
  return current;
}

/** Called after every route change; returns the unsubscribe. */
export function subscribeRoute(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function useRoute(): Route {
  return useSyncExternalStore(subscribeRoute, getRoute);
}

export function href(view: ViewId, id?: string | null, params?: Record<string, string | null | undefined>, sub?: string | null): string {
  let out = `#/${view}`;
  if (id) out += `/${encodeURIComponent(id)}`;
  if (id && sub) out += `/${encodeURIComponent(sub)}`;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) if (v) q.set(k, v);
  const qs = q.toString();
  return qs ? `${out}?${qs}` : out;
}

/** Go to a view. `replace` keeps filter tweaks out of the back/forward history. */
export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (window.location.hash === to) return;
  if (opts.replace) {
    window.history.replaceState(null, '', to);
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  } else {
    window.location.hash = to;
  }
}
