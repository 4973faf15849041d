import { API_REQUESTS, type EventName, type Session } from '../../../shared/api.js';
import { createDispatcher, type ApiHost, type Handlers } from '../../../main/api/dispatcher.js';
import type { InvokeEventLike, IpcMainLike } from '../../../main/electron/ipc.js';

/**
 * Stand-ins for Electron's objects (there is no Electron binary on these machines) and an ApiHost built on
 * the real dispatcher, so a test sees exactly what the window would: argument checks, result checks, codes.
 */

export const SESSION: Session = { host: 'electron', version: '0.0.0-test', firstRun: true, demo: false, engineRunning: false, secretsInMemory: false, keychainHelp: null };

export class FakeHost implements ApiHost {
  /** What reached the dispatcher (after the sender check). */
  readonly dispatched: Array<{ channel: unknown; args: unknown }> = [];
  /** What reached a handler (after the argument check). */
  readonly handled: Array<{ channel: string; args: unknown }> = [];
  readonly #listeners = new Set<(event: EventName, payload: unknown) => void>();
  readonly #dispatch: ApiHost['dispatch'];

  constructor() {
    const handlers = Object.fromEntries(
      Object.keys(API_REQUESTS).map((channel) => [
        channel,
        (args: unknown) => {
          this.handled.push({ channel, args });
          if (channel === 'session.get') return SESSION;
          if (channel === 'connect.cancel') return { cancelled: true };
          throw new Error(`${channel} is not used by these tests`);
        },
      ]),
    ) as unknown as Handlers;
    this.#dispatch = createDispatcher(handlers, () => undefined);
  }

  dispatch(channel: unknown, args: unknown) {
    this.dispatched.push({ channel, args });
    return this.#dispatch(channel, args);
  }

  subscribe(listener: (event: EventName, payload: unknown) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(event: EventName, payload: unknown): void {
    for (const l of this.#listeners) l(event, payload);
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }
}

export class FakeIpcMain implements IpcMainLike {
  readonly handlers = new Map<string, (event: InvokeEventLike, ...args: any[]) => unknown>();

  handle(channel: string, listener: (event: InvokeEventLike, ...args: any[]) => unknown): void {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    this.handlers.set(channel, listener);
  }

  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }

  /** What Electron does for `ipcRenderer.invoke(channel, ...args)`. */
  async invoke(channel: string, event: InvokeEventLike, ...args: unknown[]): Promise<unknown> {
    const handler = this.handlers.get(channel);
    if (!handler) throw new Error(`No handler registered for '${channel}'`);
    return handler(event, ...args);
  }
}

/** A webContents: listeners by event name, the window-open handler, what was sent to the page. */
export class FakeWebContents {
  readonly listeners = new Map<string, Array<(...args: any[]) => void>>();
  openHandler: ((details: { url: string }) => { action: 'deny' }) | null = null;
  readonly sent: unknown[][] = [];
  url = 'app://relink/index.html';
  destroyed = false;

  on(event: string, listener: (...args: any[]) => void): this {
    const list = this.listeners.get(event) ?? [];
    list.push(listener);
    this.listeners.set(event, list);
    return this;
  }

  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void {
    this.openHandler = handler;
  }

  /** Fires `event` the way Electron does and reports whether some listener called preventDefault(). */
  fire(event: string, details: Record<string, unknown>, ...legacy: unknown[]): boolean {
    let prevented = false;
    const e = { ...details, preventDefault: () => (prevented = true) };
    for (const l of this.listeners.get(event) ?? []) l(e, ...legacy);
    return prevented;
  }

  isDestroyed(): boolean {
    return this.destroyed;
  }

  getURL(): string {
    return this.url;
  }

  send(channel: string, ...args: unknown[]): void {
    this.sent.push([channel, ...args]);
  }
}

/** A session: the permission handlers and download listeners hardening installs, to call as Electron would. */
export class FakeSession {
  requestHandler: ((contents: unknown, permission: string, callback: (granted: boolean) => void, details?: unknown) => void) | null = null;
  checkHandler: ((contents: unknown, permission: string, origin?: string, details?: unknown) => boolean) | null = null;
  deviceHandler: ((details: unknown) => boolean) | null = null;
  readonly downloadListeners: Array<(event: { preventDefault(): void }) => void> = [];

  setPermissionRequestHandler(h: NonNullable<FakeSession['requestHandler']>): void {
    this.requestHandler = h;
  }
  setPermissionCheckHandler(h: NonNullable<FakeSession['checkHandler']>): void {
    this.checkHandler = h;
  }
  setDevicePermissionHandler(h: NonNullable<FakeSession['deviceHandler']>): void {
    this.deviceHandler = h;
  }
  on(event: 'will-download', listener: (event: { preventDefault(): void }) => void): this {
    if (event === 'will-download') this.downloadListeners.push(listener);
    return this;
  }
}

/** The webContents of a window or webview created after start-up: it has a session of its own. */
export class FakeCreatedContents extends FakeWebContents {
  constructor(readonly session: FakeSession = new FakeSession()) {
    super();
  }
}

/** Electron's `app`, as far as `web-contents-created` goes: listeners, and a way to announce new contents. */
export class FakeApp {
  readonly listeners = new Map<string, Array<(...args: any[]) => void>>();
  on(event: string, listener: (...args: any[]) => void): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return this;
  }
  /** What Electron does whenever any webContents is created (a window, a <webview>, DevTools). */
  created(contents: FakeCreatedContents): void {
    for (const l of this.listeners.get('web-contents-created') ?? []) l({}, contents);
  }
}

/** A frame: top-level unless a parent is given. */
export function frame(url: string, parent: unknown = null): { url: string; parent: unknown } {
  return { url, parent };
}

type Incident = { kind: 'opened' | 'recovered'; incidentId: string; summary: string };

/** ShellHooks with handles to drive them: set the attention count, open an incident, see suspend/resume. */
export function fakeHooks() {
  const attention = new Set<(n: number) => void>();
  const incidents = new Set<(e: Incident) => void>();
  const calls: string[] = [];
  return {
    calls,
    count: 0,
    enabled: true,
    attentionCount() {
      return this.count;
    },
    onAttentionChange(l: (n: number) => void) {
      attention.add(l);
      return () => attention.delete(l);
    },
    setAttention(n: number) {
      this.count = n;
      for (const l of attention) l(n);
    },
    onIncident(l: (e: Incident) => void) {
      incidents.add(l);
      return () => incidents.delete(l);
    },
    incident(e: Incident) {
      for (const l of incidents) l(e);
    },
    notificationsEnabled() {
      return this.enabled;
    },
    suspend: () => calls.push('suspend'),
    resume: () => calls.push('resume'),
    get listeners() {
      return attention.size + incidents.size;
    },
  };
}
