import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startBrowserServer, type BrowserServer } from '../../../main/browser-mode/server.js';
import type { Session } from '../../../shared/api.js';
import { createWsBridge, KEY_STORAGE_NAME, takeKey, type SocketLike, type WsBridge, type WsBridgeEnv } from '../../../renderer/src/api/ws-bridge.js';
import { FakeHost, SESSION, tempRenderer } from './fake-host.js';

/**
 * The renderer's WebSocket bridge, run under Node against the real browser-mode server: the browser's globals
 * (location, history, sessionStorage, WebSocket) are passed in, with `ws`'s client standing in for the
 * browser's WebSocket (it can send the Origin header a browser would).
 */

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(): Promise<{ server: BrowserServer; host: FakeHost }> {
  const r = tempRenderer();
  cleanups.push(r.cleanup);
  const host = new FakeHost();
  const server = await startBrowserServer({ host, rendererDir: r.dir });
  cleanups.push(() => server.close());
  return { server, host };
}

class MemoryStorage {
  readonly items = new Map<string, string>();
  getItem(k: string) {
    return this.items.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.items.set(k, v);
  }
  removeItem(k: string) {
    this.items.delete(k);
  }
}

interface Page {
  bridge: WsBridge;
  storage: MemoryStorage;
  replaced: Array<string | undefined>;
  sockets: WebSocket[];
  warnings: string[];
}

function page(server: BrowserServer, hash: string, storage = new MemoryStorage(), origin = server.origin): Page {
  const replaced: Array<string | undefined> = [];
  const sockets: WebSocket[] = [];
  const warnings: string[] = [];
  const env: Partial<WsBridgeEnv> = {
    location: { host: `127.0.0.1:${server.port}`, hash, pathname: '/', search: '' },
    history: { replaceState: (_d, _u, url) => replaced.push(url) },
    storage,
    connect: (url) => {
      const ws = new WebSocket(url, { origin });
      sockets.push(ws);
      return ws as unknown as SocketLike;
    },
    warn: (m) => warnings.push(m),
    random: () => 0,
  };
  const bridge = createWsBridge(env);
  cleanups.push(() => bridge.close());
  return { bridge, storage, replaced, sockets, warnings };
}

async function until<T>(fn: () => T | undefined, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('the renderer\'s WebSocket bridge', () => {
  it('takes the key from #key=, keeps it for a reload and removes it from the address bar', () => {
    const storage = new MemoryStorage();
    const replaced: Array<string | undefined> = [];
    const env = {
      location: { host: 'x', hash: '#key=abc_DEF-123', pathname: '/', search: '?q=1' },
      history: { replaceState: (_d: unknown, _u: string, url?: string) => replaced.push(url) },
      storage,
    };
    expect(takeKey(env)).toBe('abc_DEF-123');
    expect(storage.getItem(KEY_STORAGE_NAME)).toBe('abc_DEF-123');
    expect(replaced).toEqual(['/?q=1']);
    // The reload: no fragment any more, the key comes from this tab's storage.
    expect(takeKey({ ...env, location: { ...env.location, hash: '' } })).toBe('abc_DEF-123');
    expect(replaced).toHaveLength(1);
    expect(takeKey({ ...env, location: { ...env.location, hash: '' }, storage: new MemoryStorage() })).toBeNull();
  });

  it('round-trips requests, with errors as values', async () => {
    const { server } = await serve();
    const p = page(server, `#key=${server.key}`);
    // Sent while the socket is still opening: queued until the key has been presented.
    const [session, cancel, bad] = await Promise.all([
      p.bridge.invoke('session.get', {}),
      p.bridge.invoke('connect.cancel', { operationId: 'op-1' }),
      p.bridge.invoke('connect.cancel', { operationId: 7 as unknown as string }),
    ]);
    expect(session).toEqual({ ok: true, value: SESSION });
    expect(cancel).toEqual({ ok: true, value: { cancelled: true } });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.error.code).toBe('invalid-arguments');
    expect(p.replaced).toEqual(['/']);
    expect(p.storage.getItem(KEY_STORAGE_NAME)).toBe(server.key);
    expect(server.authenticatedCount()).toBe(1);
  });

  it('delivers valid events to their listeners, drops invalid ones with a warning, and unsubscribes', async () => {
    const { server, host } = await serve();
    const p = page(server, `#key=${server.key}`);
    await p.bridge.invoke('session.get', {});
    const seen: Session[] = [];
    const off = p.bridge.on('session', (s) => seen.push(s));
    host.emitRaw('session', { ...SESSION, demo: true });
    host.emitRaw('session', { ...SESSION, token: 'leak' });
    host.emitRaw('session', { host: 'browser' });
    await until(() => seen.length === 1 && p.warnings.length === 2);
    expect(seen).toEqual([{ ...SESSION, demo: true }]);
    expect(p.warnings[0]).toMatch(/dropped a session event/);
    off();
    host.emitRaw('session', SESSION);
    await p.bridge.invoke('session.get', {}); // the event, sent before this answer, has arrived by now
    expect(seen).toHaveLength(1);
  });

  it('resolves pending calls as unreachable when the socket drops, reconnects, and refreshes the session', async () => {
    const { server, host } = await serve();
    const p = page(server, `#key=${server.key}`);
    await p.bridge.invoke('session.get', {});
    const sessions: Session[] = [];
    p.bridge.on('session', (s) => sessions.push(s));
    let release!: () => void;
    host.hold = new Promise((r) => (release = r));
    const inFlight = p.bridge.invoke('check.run', {});
    await until(() => host.calls.some((c) => c.channel === 'check.run'));
    p.sockets[0]!.terminate(); // the connection is lost (laptop asleep, server restarting…)
    const lost = await inFlight;
    expect(lost.ok).toBe(false);
    expect(!lost.ok && lost.error.code).toBe('unreachable');
    expect(!lost.ok && lost.error.message).toMatch(/^Lost the connection to Relink/);
    release();
    // Back by itself, and tells the UI to take a fresh look.
    await until(() => sessions.length === 1);
    expect(sessions[0]).toEqual(SESSION);
    expect(p.sockets).toHaveLength(2);
    expect((await p.bridge.invoke('session.get', {})).ok).toBe(true);
  });

  it('stops, and says to open the printed address, when the key is refused', async () => {
    const { server, host } = await serve();
    const storage = new MemoryStorage();
    storage.setItem(KEY_STORAGE_NAME, 'a-key-from-an-earlier-run');
    const p = page(server, '', storage);
    const r = await p.bridge.invoke('session.get', {});
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.code).toBe('forbidden');
    expect(!r.ok && r.error.message).toMatch(/earlier run/);
    expect(storage.getItem(KEY_STORAGE_NAME)).toBeNull();
    await new Promise((res) => setTimeout(res, 600));
    expect(p.sockets).toHaveLength(1); // no reconnect loop with a key that cannot work
    expect(host.calls).toEqual([]);
  });

  it('without any key, does not connect and says how to open the page', async () => {
    const { server } = await serve();
    const p = page(server, '');
    const r = await p.bridge.invoke('session.get', {});
    expect(!r.ok && r.error).toEqual({ code: 'forbidden', message: expect.stringMatching(/opened without its key.*#key=/) });
    expect(p.sockets).toHaveLength(0);
  });

  it('a page on another origin cannot get in even with the key', async () => {
    const { server, host } = await serve();
    const p = page(server, `#key=${server.key}`, new MemoryStorage(), 'http://evil.example');
    const r = await p.bridge.invoke('session.get', {});
    expect(!r.ok && r.error.code).toBe('unreachable');
    expect(host.calls).toEqual([]);
  });
});
