import { useCallback, useEffect, useMemo, useRef, useSyncExternalStore } from 'react';
import type { ApiError, ApiResult, EventName, EventPayload, RequestArgs, RequestChannel, RequestResult } from '../../../shared/api.js';
import { getBridge } from '../api/bridge.js';
import { request } from './store.js';

/**
 * Server state a view reads on demand (a plan, an audit, the activity log, the tracked apps) — everything main
 * does not push whole the way it pushes the status snapshot. One cache entry per request (channel + arguments):
 * views asking for the same thing share one request and one answer; an entry is refetched when main announces
 * an event for one of its topics (an operation finishing, an incident opening), when a view asks for it again
 * after changing something, and is forgotten once no view shows it (the next view to open reads it fresh).
 *
 * Failures are values (`error`), as everywhere on the bridge: the last good answer stays on screen beside them.
 */

/**
 * An event from main that makes an answer stale: every event of that name, or only those `when` accepts
 * (e.g. operations of one kind that have finished).
 */
export type Topic = EventName | { [E in EventName]: { event: E; when?: (payload: EventPayload<E>) => boolean } }[EventName];

export interface ResourceState<T> {
  /** The latest answer, kept while a refetch runs and after one fails; null until the first arrives. */
  data: T | null;
  /** Why the latest request failed (cleared by the next success). */
  error: ApiError | null;
  /** A request for this entry is under way (also a refetch while `data` is shown). */
  loading: boolean;
}

export interface Resource<T> extends ResourceState<T> {
  /** Ask main again now; resolves once the answer (or failure) is in. A request already under way is followed by a fresh one. */
  reload(): Promise<void>;
  /** Put an answer main already gave (an action's result) in place of the cached one, without asking again. */
  mutate(next: T | ((previous: T | null) => T)): void;
}

/** What the cache needs from the window's bridge; tests pass a fake. */
export interface ResourceHost {
  invoke(channel: RequestChannel, args: unknown): Promise<ApiResult<unknown>>;
  on(event: EventName, listener: (payload: unknown) => void): () => void;
}

interface Entry {
  channel: RequestChannel;
  args: unknown;
  state: ResourceState<unknown>;
  listeners: Set<() => void>;
  inFlight: Promise<void> | null;
  /** Something made the answer under way stale: ask again when it arrives. */
  again: boolean;
  /** Bumped by `set`, so an answer to a request sent before it does not overwrite the newer value. */
  epoch: number;
  gc: ReturnType<typeof setTimeout> | null;
}

const LOADING: ResourceState<never> = Object.freeze({ data: null, error: null, loading: true });
const IDLE: ResourceState<never> = Object.freeze({ data: null, error: null, loading: false });
const TRANSPORT_FAILED: ApiError = {
  code: 'unreachable',
  message: "Relink's window is not connected to its service. Restart Relink and try again.",
};

/** The cache key: the channel and its arguments, with object keys in a fixed order so equal requests match. */
export function resourceKey(channel: RequestChannel, args: unknown): string {
  return `${channel} ${stableJson(args)}`;
}

function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** Whether an event from main concerns a resource with these topics. */
export function topicMatches(topics: readonly Topic[], event: EventName, payload: unknown): boolean {
  for (const t of topics) {
    if (typeof t === 'string') {
      if (t === event) return true;
    } else if (t.event === event && (!t.when || (t.when as (p: unknown) => boolean)(payload))) {
      return true;
    }
  }
  return false;
}

export class ResourceCache {
  readonly #host: ResourceHost;
  readonly #gcMs: number;
  readonly #entries = new Map<string, Entry>();

  constructor(host: ResourceHost, opts: { gcMs?: number } = {}) {
    this.#host = host;
    this.#gcMs = opts.gcMs ?? 0;
  }

  /** The entry's state (the same object until it changes); `LOADING` before the first subscriber asked. */
  read(key: string): ResourceState<unknown> {
    return this.#entries.get(key)?.state ?? LOADING;
  }

  has(key: string): boolean {
    return this.#entries.has(key);
  }

  /**
   * A view shows this request: it is sent unless its answer is already here or under way (identical requests
   * in flight are shared). The returned function stops listening; an entry nobody listens to is dropped.
   */
  subscribe(channel: RequestChannel, args: unknown, listener: () => void): () => void {
    const key = resourceKey(channel, args);
    let entry = this.#entries.get(key);
    if (!entry) {
      entry = { channel, args, state: LOADING, listeners: new Set(), inFlight: null, again: false, epoch: 0, gc: null };
      this.#entries.set(key, entry);
    }
    if (entry.gc !== null) {
      clearTimeout(entry.gc);
      entry.gc = null;
    }
    const e = entry;
    e.listeners.add(listener);
    if (e.state.data === null && !e.inFlight) void this.#run(e);
    return () => {
      if (!e.listeners.delete(listener) || e.listeners.size > 0) return;
      // Not at once: React (StrictMode, a key change) may unsubscribe and subscribe again in the same breath.
      e.gc = setTimeout(() => {
        e.gc = null;
        if (e.listeners.size === 0 && this.#entries.get(key) === e) this.#entries.delete(key);
      }, this.#gcMs);
    };
  }

  /** Ask again (a request under way is followed by a fresh one, whose answer the promise waits for). */
  reload(key: string): Promise<void> {
    const entry = this.#entries.get(key);
    if (!entry) return Promise.resolve();
    if (entry.inFlight) entry.again = true;
    return this.#run(entry);
  }

  /** Replace the cached answer with one main gave elsewhere (an action's result). */
  set(key: string, next: unknown | ((previous: unknown) => unknown)): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    const data = typeof next === 'function' ? (next as (p: unknown) => unknown)(entry.state.data) : next;
    entry.epoch += 1;
    this.#patch(entry, { data, error: null });
  }

  /** Refetch this entry whenever main sends one of these events and `matches` accepts it. */
  watch(key: string, events: readonly EventName[], matches: (event: EventName, payload: unknown) => boolean): () => void {
    const offs = events.map((event) =>
      this.#host.on(event, (payload) => {
        if (matches(event, payload)) void this.reload(key);
      }),
    );
    return () => offs.forEach((off) => off());
  }

  #patch(entry: Entry, patch: Partial<ResourceState<unknown>>): void {
    entry.state = { ...entry.state, ...patch };
    for (const l of [...entry.listeners]) l();
  }

  #run(entry: Entry): Promise<void> {
    if (entry.inFlight) return entry.inFlight;
    const go = async () => {
      if (!entry.state.loading) this.#patch(entry, { loading: true });
      for (;;) {
        entry.again = false;
        const epoch = entry.epoch;
        let result: ApiResult<unknown>;
        try {
          result = await this.#host.invoke(entry.channel, entry.args);
        } catch {
          result = { ok: false, error: TRANSPORT_FAILED };
        }
        const fresh = entry.epoch === epoch;
        if (entry.again) {
          if (fresh) this.#patch(entry, result.ok ? { data: result.value, error: null } : { error: result.error });
          continue;
        }
        entry.inFlight = null;
        this.#patch(entry, fresh ? (result.ok ? { data: result.value, error: null, loading: false } : { error: result.error, loading: false }) : { loading: false });
        return;
      }
    };
    entry.inFlight = go();
    return entry.inFlight;
  }
}

const windowHost: ResourceHost = {
  invoke: (channel, args) => request(channel, args as never) as Promise<ApiResult<unknown>>,
  on: (event, listener) => {
    try {
      return getBridge().on(event, listener);
    } catch {
      // No bridge: the store has already shown why Relink cannot start, and no event will come.
      return () => {};
    }
  },
};

const cache = new ResourceCache(windowHost);

export interface ResourceOptions {
  /** Events from main after which the answer is stale and is asked for again. */
  topics?: readonly Topic[];
  /** While a changed request's first answer is on its way, show the previous request's answer (filters). */
  keepPrevious?: boolean;
}

/**
 * Server state for a view: `args` null means "nothing to ask yet" (data null, not loading). The answer is the
 * cache entry's, so two views asking the same thing see the same data.
 */
export function useResource<C extends RequestChannel>(channel: C, args: RequestArgs<C> | null, options: ResourceOptions = {}): Resource<RequestResult<C>> {
  const key = args === null ? null : resourceKey(channel, args);
  const argsRef = useRef(args);
  argsRef.current = args;

  const subscribe = useCallback(
    (listener: () => void) => (key === null ? () => {} : cache.subscribe(channel, argsRef.current, listener)),
    [channel, key],
  );
  const state = useSyncExternalStore(subscribe, () => (key === null ? IDLE : cache.read(key))) as ResourceState<RequestResult<C>>;

  const topicsRef = useRef(options.topics ?? []);
  topicsRef.current = options.topics ?? [];
  const events = [...new Set((options.topics ?? []).map((t) => (typeof t === 'string' ? t : t.event)))].sort().join(' ');
  useEffect(() => {
    if (key === null || !events) return;
    return cache.watch(key, events.split(' ') as EventName[], (event, payload) => topicMatches(topicsRef.current, event, payload));
  }, [key, events]);

  const previous = useRef<RequestResult<C> | null>(null);
  // "Nothing to ask" forgets the previous answer too: the next request starts from "Loading", not an old list.
  if (key === null) previous.current = null;
  else if (state.data !== null) previous.current = state.data;
  const data = key === null ? null : (state.data ?? (options.keepPrevious ? previous.current : null));

  const reload = useCallback(() => (key === null ? Promise.resolve() : cache.reload(key)), [key]);
  const mutate = useCallback(
    (next: RequestResult<C> | ((p: RequestResult<C> | null) => RequestResult<C>)) => {
      if (key !== null) cache.set(key, next);
    },
    [key],
  );
  return useMemo(() => ({ data, error: state.error, loading: state.loading, reload, mutate }), [data, state.error, state.loading, reload, mutate]);
}
