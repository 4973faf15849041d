import {
  API_EVENTS,
  API_REQUESTS,
  apiErrorSchema,
  type ApiError,
  type ApiResult,
  type EventName,
  type RelinkBridge,
  type RequestChannel,
  type WireRequest,
} from '../../../shared/api.js';

/**
 * The window API over browser mode's WebSocket: the same `RelinkBridge` Electron's preload provides, so the UI
 * cannot tell the hosts apart.
 *
 * The page is opened at `http://127.0.0.1:PORT/#key=SECRET`. The key is read from the fragment once, kept in
 * sessionStorage (this tab only, so a reload still works) and removed from the address bar (so it is not left
 * in a screenshot, a bookmark or the history). Every (re)connection starts by presenting it.
 *
 * Everything the browser provides is passed in (`WsBridgeEnv`), so the logic runs under Node in tests.
 */

/** The parts of a WebSocket the bridge uses: the browser's own, or `ws`'s client in tests. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export interface WsBridgeEnv {
  location: { readonly host: string; readonly hash: string; readonly pathname: string; readonly search: string };
  history: { replaceState(data: unknown, unused: string, url?: string): void } | null;
  storage: { getItem(key: string): string | null; setItem(key: string, value: string): void; removeItem(key: string): void } | null;
  connect: (url: string) => SocketLike;
  setTimeout: (fn: () => void, ms: number) => unknown;
  clearTimeout: (handle: unknown) => void;
  warn: (message: string) => void;
  random: () => number;
}

export interface WsBridge extends RelinkBridge {
  /** Stops reconnecting and closes the socket; pending calls resolve as unreachable. */
  close(): void;
}

export const KEY_STORAGE_NAME = 'relink.browserKey';
const OPEN = 1;
/** The server closes with this when the key is missing or wrong (or never came): reconnecting cannot help. */
const POLICY_VIOLATION = 1008;
const BACKOFF_MS = [250, 500, 1_000, 2_000, 4_000, 8_000];

const UNREACHABLE: ApiError = {
  code: 'unreachable',
  message:
    'Lost the connection to Relink. If it is still running, this page reconnects on its own; if it was stopped, start it again (npm run start:browser) and open the address it prints.',
};
const NO_KEY: ApiError = {
  code: 'forbidden',
  message: 'This page was opened without its key. Open the address Relink printed when it started (it ends with #key=…).',
};
const KEY_REFUSED: ApiError = {
  code: 'forbidden',
  message: 'Relink did not accept this page\'s key: it is probably from an earlier run. Open the address Relink printed when it last started.',
};

/** The browser's own globals, for whatever the caller did not pass in (each touched only when needed). */
function withBrowserDefaults(o: Partial<WsBridgeEnv>): WsBridgeEnv {
  const sessionStore = (): WsBridgeEnv['storage'] => {
    try {
      return globalThis.sessionStorage ?? null;
    } catch {
      // Storage can be disabled; then a reload needs the printed address again.
      return null;
    }
  };
  return {
    location: o.location ?? globalThis.location,
    history: 'history' in o ? (o.history ?? null) : (globalThis.history ?? null),
    storage: 'storage' in o ? (o.storage ?? null) : sessionStore(),
    connect: o.connect ?? ((url) => new WebSocket(url) as unknown as SocketLike),
    setTimeout: o.setTimeout ?? ((fn, ms) => globalThis.setTimeout(fn, ms)),
    clearTimeout: o.clearTimeout ?? ((h) => globalThis.clearTimeout(h as ReturnType<typeof globalThis.setTimeout>)),
    warn: o.warn ?? ((m) => console.warn(m)),
    random: o.random ?? Math.random,
  };
}

/** The key from `#key=…` (then stored, and removed from the address bar), or the one stored by an earlier load. */
export function takeKey(env: Pick<WsBridgeEnv, 'location' | 'history' | 'storage'>): string | null {
  const fromHash = new URLSearchParams(env.location.hash.replace(/^#/, '')).get('key');
  if (fromHash) {
    try {
      env.storage?.setItem(KEY_STORAGE_NAME, fromHash);
    } catch {
      // Storage full or disabled: this load still works.
    }
    env.history?.replaceState(null, '', `${env.location.pathname}${env.location.search}`);
    return fromHash;
  }
  try {
    return env.storage?.getItem(KEY_STORAGE_NAME) ?? null;
  } catch {
    return null;
  }
}

type Pending = { channel: RequestChannel; resolve: (r: ApiResult<unknown>) => void };
type Listener = (payload: unknown) => void;

export function createWsBridge(overrides: Partial<WsBridgeEnv> = {}): WsBridge {
  const env = withBrowserDefaults(overrides);
  let key = takeKey(env);
  const url = `ws://${env.location.host}/api`;
  const listeners = new Map<EventName, Set<Listener>>();
  const pending = new Map<number, Pending>();
  /** Requests made while a socket is opening, sent right after the hello. */
  let queued: WireRequest[] = [];
  let nextId = 1;
  let socket: SocketLike | null = null;
  let state: 'connecting' | 'open' | 'waiting' | 'refused' | 'closed' = 'connecting';
  /** Why every call fails at once while `state` is 'refused'. */
  let refusal: ApiError = NO_KEY;
  let attempt = 0;
  let everOpened = false;
  let retryTimer: unknown = null;

  const emit = (event: EventName, payload: unknown) => {
    for (const l of [...(listeners.get(event) ?? [])]) {
      try {
        l(payload);
      } catch (err) {
        env.warn(`Relink: a ${event} listener failed: ${(err as Error)?.message ?? String(err)}`);
      }
    }
  };

  const failAll = (error: ApiError) => {
    const waiting = [...pending.values()];
    pending.clear();
    queued = [];
    for (const p of waiting) p.resolve({ ok: false, error });
  };

  const onMessage = (data: unknown) => {
    let message: { type?: unknown; id?: unknown; result?: unknown; event?: unknown; payload?: unknown };
    try {
      message = JSON.parse(String(data));
    } catch {
      return env.warn('Relink: ignored a message from the server that was not JSON.');
    }
    if (message?.type === 'response' && typeof message.id === 'number') {
      const p = pending.get(message.id);
      if (!p) return;
      pending.delete(message.id);
      p.resolve(checkResult(p.channel, message.result, env.warn));
      return;
    }
    if (message?.type === 'event' && typeof message.event === 'string' && Object.prototype.hasOwnProperty.call(API_EVENTS, message.event)) {
      const event = message.event as EventName;
      const parsed = API_EVENTS[event].safeParse(message.payload);
      if (!parsed.success) return env.warn(`Relink: dropped a ${event} event that did not match the API (${summary(parsed.error.issues)}).`);
      return emit(event, parsed.data);
    }
    env.warn('Relink: ignored a message from the server of an unknown kind.');
  };

  const scheduleRetry = () => {
    state = 'waiting';
    const base = BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)]!;
    attempt += 1;
    // Jitter, so several tabs do not all knock at once when Relink comes back.
    retryTimer = env.setTimeout(() => {
      retryTimer = null;
      open();
    }, base + Math.floor(env.random() * base * 0.5));
  };

  const open = () => {
    if (!key) {
      state = 'refused';
      return;
    }
    state = 'connecting';
    const reconnecting = everOpened;
    let s: SocketLike;
    try {
      s = env.connect(url);
    } catch {
      failAll(UNREACHABLE);
      return scheduleRetry();
    }
    socket = s;
    s.onopen = () => {
      if (socket !== s) return;
      state = 'open';
      everOpened = true;
      s.send(JSON.stringify({ type: 'hello', key }));
      const toSend = queued;
      queued = [];
      for (const r of toSend) s.send(JSON.stringify(r));
      if (reconnecting) {
        // Events sent while the socket was down are lost: tell the UI to take a fresh look.
        void bridge.invoke('session.get', {}).then((r) => {
          if (r.ok) emit('session', r.value);
        });
      }
    };
    s.onmessage = (ev) => {
      if (socket !== s) return;
      // Anything from the server means the key was accepted: start the next outage's backoff from the bottom.
      attempt = 0;
      onMessage(ev.data);
    };
    s.onerror = () => undefined; // always followed by onclose
    s.onclose = (ev) => {
      if (socket !== s) return;
      socket = null;
      if (state === 'closed') return;
      if (ev.code === POLICY_VIOLATION) {
        // A wrong or stale key: trying again with the same one cannot work.
        state = 'refused';
        refusal = KEY_REFUSED;
        key = null;
        try {
          env.storage?.removeItem(KEY_STORAGE_NAME);
        } catch {
          // Nothing to clean up then.
        }
        failAll(KEY_REFUSED);
        return;
      }
      failAll(UNREACHABLE);
      scheduleRetry();
    };
  };

  const bridge: WsBridge = {
    invoke(channel, args) {
      if (state === 'refused') return Promise.resolve({ ok: false, error: refusal });
      if (state === 'waiting' || state === 'closed') return Promise.resolve({ ok: false, error: UNREACHABLE });
      const id = nextId++;
      const request: WireRequest = { type: 'request', id, channel, args };
      return new Promise((resolve) => {
        pending.set(id, { channel, resolve: resolve as Pending['resolve'] });
        if (state === 'open' && socket?.readyState === OPEN) socket.send(JSON.stringify(request));
        else queued.push(request);
      });
    },
    on(event, listener) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      const l = listener as Listener;
      set.add(l);
      return () => {
        set.delete(l);
      };
    },
    close() {
      state = 'closed';
      if (retryTimer !== null) env.clearTimeout(retryTimer);
      retryTimer = null;
      const s = socket;
      socket = null;
      s?.close(1000, 'Page closed');
      failAll(UNREACHABLE);
    },
  };

  open();
  return bridge;
}

/** The server checks results against the contract before sending; this keeps a mismatch from reaching the UI. */
function checkResult(channel: RequestChannel, raw: unknown, warn: (m: string) => void): ApiResult<unknown> {
  const r = raw as { ok?: unknown; value?: unknown; error?: unknown } | null;
  if (r?.ok === true) {
    const parsed = API_REQUESTS[channel].result.safeParse(r.value);
    if (parsed.success) return { ok: true, value: parsed.data };
    warn(`Relink: the answer to ${channel} did not match the API (${summary(parsed.error.issues)}).`);
  } else if (r?.ok === false) {
    const error = apiErrorSchema.safeParse(r.error);
    if (error.success) return { ok: false, error: error.data };
    warn(`Relink: the error returned for ${channel} did not match the API.`);
  }
  return { ok: false, error: { code: 'internal', message: 'Relink sent an answer this page could not read. Reload the page; report it if it happens again.' } };
}

function summary(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): string {
  return issues
    .slice(0, 3)
    .map((i) => (i.path.length ? `${i.path.map(String).join('.')}: ${i.message}` : i.message))
    .join('; ');
}
