import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { BrowserServerError, startBrowserServer, type BrowserServer, type BrowserServerOptions } from '../../../main/browser-mode/server.js';
import { FakeHost, SESSION, tempRenderer } from './fake-host.js';

/**
 * Browser mode's server, with a fake ApiHost behind the real dispatcher: it serves only the built renderer,
 * only to requests addressed to 127.0.0.1:PORT, and its API only to Relink's own page holding this run's key.
 */

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(extra: Partial<BrowserServerOptions> = {}): Promise<{ server: BrowserServer; host: FakeHost; logs: string[] }> {
  const r = tempRenderer();
  cleanups.push(r.cleanup);
  const host = new FakeHost();
  const logs: string[] = [];
  const server = await startBrowserServer({ host, rendererDir: r.dir, log: (l) => logs.push(l), ...extra });
  cleanups.push(() => server.close());
  return { server, host, logs };
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A raw request: the path and Host go out exactly as given (fetch would normalise `..` away). */
function get(port: number, rawPath: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: rawPath, method, headers: { host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

type Opened = { ws: WebSocket; messages: unknown[]; closed: Promise<{ code: number; reason: string }> };

/** A WebSocket client that can send any Origin and Host, and records what arrives. */
function connect(server: BrowserServer, opts: { origin?: string | null; host?: string; path?: string } = {}): Promise<Opened> {
  const headers: Record<string, string> = {};
  if (opts.host) headers.host = opts.host;
  const origin = opts.origin === undefined ? server.origin : opts.origin;
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}${opts.path ?? '/api'}`, { ...(origin === null ? {} : { origin }), headers });
  cleanups.push(() => ws.terminate());
  const messages: unknown[] = [];
  ws.on('message', (d) => messages.push(JSON.parse(d.toString())));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, messages, closed }));
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`refused with ${res.statusCode}`), { status: res.statusCode })));
    ws.once('error', reject);
  });
}

async function authed(server: BrowserServer): Promise<Opened> {
  const c = await connect(server);
  c.ws.send(JSON.stringify({ type: 'hello', key: server.key }));
  return c;
}

function request(c: Opened, id: number, channel: string, args: unknown): Promise<any> {
  c.ws.send(JSON.stringify({ type: 'request', id, channel, args }));
  return until(() => c.messages.find((m: any) => m.type === 'response' && m.id === id));
}

async function until<T>(fn: () => T | undefined, ms = 3_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('browser mode: static files', () => {
  it('serves index.html with connect-src rewritten to exactly this run\'s WebSocket, in the meta and the header', async () => {
    const { server } = await start();
    const wsOrigin = `ws://127.0.0.1:${server.port}`;
    for (const p of ['/', '/index.html']) {
      const r = await get(server.port, p);
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(r.headers['cache-control']).toBe('no-store');
      const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]*)"/.exec(r.body)?.[1];
      expect(meta).toBeDefined();
      expect(meta).toContain(`connect-src ${wsOrigin};`);
      expect(meta).not.toContain("connect-src 'none'");
      expect(meta).toContain("script-src 'self'");
      expect(meta).toContain("frame-ancestors 'none'");
      expect(r.headers['content-security-policy']).toBe(meta);
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['referrer-policy']).toBe('no-referrer');
      expect(r.headers['x-frame-options']).toBe('DENY');
      expect(r.headers['cross-origin-opener-policy']).toBe('same-origin');
      expect(r.body).toContain('<div id="root">');
    }
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/#key=${server.key}`);
    expect(server.key).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('serves assets with their content types, and HEAD without a body', async () => {
    const { server } = await start();
    const js = await get(server.port, '/assets/index-abc123.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['x-content-type-options']).toBe('nosniff');
    expect(js.body).toContain('relink');
    expect((await get(server.port, '/assets/style.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    const head = await get(server.port, '/assets/index-abc123.js', {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect((await get(server.port, '/assets/nope.js')).status).toBe(404);
    expect((await get(server.port, '/', {}, 'POST')).status).toBe(405);
  });

  it('never serves anything outside the renderer folder, nor dotfiles', async () => {
    const { server } = await start();
    for (const p of [
      '/../package.json',
      '/assets/../../package.json',
      '/%2e%2e/package.json',
      '/%2E%2E/package.json',
      '/..%2fpackage.json',
      '/assets/..%2f..%2fpackage.json',
      '/..%5cpackage.json',
      '/assets%2f..%2f..%2fpackage.json',
      '/%252e%252e/package.json',
      '/.env',
      '/%2eenv',
      '/assets/%00.js',
      '/%',
      '//etc/passwd',
      'http://127.0.0.1/../package.json',
    ]) {
      const r = await get(server.port, p);
      expect([400, 404], p).toContain(r.status);
      expect(r.body, p).not.toContain('outside-the-renderer');
      expect(r.body, p).not.toContain('SECRET');
    }
  });

  it('answers only requests addressed to 127.0.0.1:PORT (DNS rebinding)', async () => {
    const { server } = await start();
    for (const host of ['evil.example', `evil.example:${server.port}`, `localhost:${server.port}`, '127.0.0.1', `127.0.0.1:${server.port + 1}`]) {
      const r = await get(server.port, '/', { host });
      expect(r.status, host).toBe(421);
      expect(r.body).not.toContain('<html');
    }
  });

  it('fails at start, saying what to run, when the renderer is not built', async () => {
    const err = await startBrowserServer({ host: new FakeHost(), rendererDir: '/nonexistent/dist/renderer' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BrowserServerError);
    expect((err as BrowserServerError).reason).toBe('renderer-missing');
    expect((err as Error).message).toMatch(/run npm run build:renderer/i);
  });

  it('says so when the port is taken', async () => {
    const { server } = await start();
    const r = tempRenderer();
    cleanups.push(r.cleanup);
    const err = await startBrowserServer({ host: new FakeHost(), rendererDir: r.dir, port: server.port }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BrowserServerError);
    expect((err as BrowserServerError).reason).toBe('port-in-use');
    expect((err as Error).message).toContain(`Port ${server.port} on 127.0.0.1 is already in use`);
    expect((err as Error).message).toContain('--port');
  });

  it('listens on 127.0.0.1 only', async () => {
    const { server } = await start();
    const reachable = (host: string) =>
      new Promise<boolean>((resolve) => {
        const s = net.connect({ host, port: server.port, timeout: 1_000 });
        s.once('connect', () => (s.destroy(), resolve(true)));
        s.once('error', () => resolve(false));
        s.once('timeout', () => (s.destroy(), resolve(false)));
      });
    expect(await reachable('127.0.0.1')).toBe(true);
    expect(await reachable('::1')).toBe(false);
    if (process.platform === 'linux') expect(await reachable('127.0.0.2')).toBe(false); // all of 127/8 is loopback there
    const others = Object.values((await import('node:os')).networkInterfaces())
      .flat()
      .filter((i) => i && !i.internal && i.family === 'IPv4')
      .map((i) => i!.address);
    for (const address of others) expect(await reachable(address), address).toBe(false);
  });
});

describe('browser mode: the API WebSocket', () => {
  it('refuses the upgrade without Relink\'s own Origin or Host, or on another path', async () => {
    const { server, host, logs } = await start();
    const refused = async (opts: Parameters<typeof connect>[1]) => (await connect(server, opts).then(() => 0, (e: { status?: number }) => e.status ?? -1));
    expect(await refused({ origin: null })).toBe(403);
    expect(await refused({ origin: 'http://evil.example' })).toBe(403);
    expect(await refused({ origin: `http://localhost:${server.port}` })).toBe(403);
    expect(await refused({ origin: `http://127.0.0.1:${server.port + 1}` })).toBe(403);
    expect(await refused({ origin: 'null' })).toBe(403);
    expect(await refused({ host: `evil.example:${server.port}` })).toBe(421);
    expect(await refused({ path: '/api/x' })).toBe(404);
    expect(await refused({ path: '/' })).toBe(404);
    expect(host.calls).toEqual([]);
    expect(logs.join('\n')).toContain('http://evil.example');
    expect(logs.join('\n')).not.toContain(server.key);
  });

  it('closes a socket that sends a request before the key, and never dispatches it', async () => {
    const { server, host } = await start();
    const c = await connect(server);
    c.ws.send(JSON.stringify({ type: 'request', id: 1, channel: 'session.get', args: {} }));
    expect((await c.closed).code).toBe(1008);
    expect(host.calls).toEqual([]);
    expect(c.messages).toEqual([]);
  });

  it('closes a socket that presents the wrong key, and never dispatches what follows', async () => {
    const { server, host, logs } = await start();
    for (const key of ['wrong', server.key.slice(0, -1), `${server.key}x`, '']) {
      const c = await connect(server);
      c.ws.send(JSON.stringify({ type: 'hello', key }));
      c.ws.send(JSON.stringify({ type: 'request', id: 1, channel: 'session.get', args: {} }));
      expect((await c.closed).code).toBe(1008);
      expect(c.messages).toEqual([]);
    }
    const c = await connect(server);
    c.ws.send(JSON.stringify({ type: 'hello', key: server.key, extra: true }));
    expect((await c.closed).code).toBe(1008);
    expect(host.calls).toEqual([]);
    expect(logs.join('\n')).not.toContain(server.key);
  });

  it('closes a socket that says nothing within the hello timeout', async () => {
    const { server, host } = await start({ helloTimeoutMs: 150 });
    const c = await connect(server);
    const started = Date.now();
    expect((await c.closed).code).toBe(1008);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(host.calls).toEqual([]);
  });

  it('after the key: a request round-trips through the dispatcher', async () => {
    const { server, host } = await start();
    const c = await authed(server);
    expect(await request(c, 1, 'session.get', {})).toEqual({ type: 'response', id: 1, result: { ok: true, value: SESSION } });
    expect(await request(c, 2, 'connect.cancel', { operationId: 'op-1' })).toEqual({
      type: 'response',
      id: 2,
      result: { ok: true, value: { cancelled: true } },
    });
    expect(host.calls.map((x) => x.channel)).toEqual(['session.get', 'connect.cancel']);
    expect(server.authenticatedCount()).toBe(1);
  });

  it('answers bad arguments, unknown channels and malformed requests with errors, not crashes', async () => {
    const { server } = await start();
    const c = await authed(server);
    const bad = await request(c, 3, 'connect.cancel', { operationId: 42 });
    expect(bad.result.ok).toBe(false);
    expect(bad.result.error.code).toBe('invalid-arguments');
    const extra = await request(c, 4, 'session.get', { sneaky: true });
    expect(extra.result.error.code).toBe('invalid-arguments');
    const unknown = await request(c, 5, 'tokens.dump', {});
    expect(unknown.result.error.code).toBe('unknown-channel');
    // A request-shaped message the wire schema refuses (channel too long): an error response for its id.
    const long = await request(c, 6, 'x'.repeat(500), {});
    expect(long.result).toEqual({ ok: false, error: { code: 'invalid-arguments', message: expect.any(String) } });
    // Still usable afterwards.
    expect((await request(c, 7, 'session.get', {})).result.ok).toBe(true);
    // Something that is not a request at all closes the socket; the server carries on.
    c.ws.send(JSON.stringify({ type: 'what', id: 'x' }));
    expect((await c.closed).code).toBe(1008);
    const d = await authed(server);
    d.ws.send('{not json');
    expect((await d.closed).code).toBe(1007);
    const e = await authed(server);
    expect((await request(e, 1, 'session.get', {})).result.ok).toBe(true);
  });

  it('sends events to authenticated sockets only', async () => {
    const { server, host } = await start();
    const a = await authed(server);
    const b = await authed(server);
    await request(a, 1, 'session.get', {});
    await request(b, 1, 'session.get', {});
    const stranger = await connect(server); // connected, no key yet
    host.emitRaw('session', SESSION);
    const expected = { type: 'event', event: 'session', payload: SESSION };
    await until(() => a.messages.some((m) => JSON.stringify(m) === JSON.stringify(expected)));
    await until(() => b.messages.some((m) => JSON.stringify(m) === JSON.stringify(expected)));
    await sleep(100);
    expect(stranger.messages).toEqual([]);
    expect(server.authenticatedCount()).toBe(2);
  });

  it('closes a socket that sends an oversize message (1009)', async () => {
    const { server, host } = await start();
    const c = await authed(server);
    await request(c, 1, 'session.get', {});
    c.ws.send(JSON.stringify({ type: 'request', id: 2, channel: 'explain', args: { text: 'x'.repeat(1024 * 1024 + 1) } }));
    expect((await c.closed).code).toBe(1009);
    expect(host.calls.length).toBe(1);
    // Smaller limit, configurable, also before the key.
    const small = await start({ maxPayloadBytes: 1000 });
    const d = await connect(small.server);
    d.ws.send(JSON.stringify({ type: 'hello', key: 'k'.repeat(2000) }));
    expect((await d.closed).code).toBe(1009);
  });

  it('close() ends every socket and unsubscribes from the host', async () => {
    const { server, host } = await start();
    const c = await authed(server);
    await request(c, 1, 'session.get', {});
    expect(host.subscribers).toBe(1);
    await server.close();
    expect((await c.closed).code).toBe(1001);
    expect(host.subscribers).toBe(0);
    await expect(get(server.port, '/')).rejects.toThrow();
  });
});
