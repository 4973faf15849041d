import { request } from 'node:http';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';

/**
 * Helpers for the oauth tests: free loopback ports, and a "browser" that makes the requests a real one makes.
 * Node's fetch cannot play the browser at the loopback listener: it always sends `Sec-Fetch-Mode: cors` and
 * never lets a test choose the Host header, so these requests go through node:http.
 */

/** Ports that were free a moment ago (bound to 127.0.0.1:0, then released). */
export async function freePorts(n: number): Promise<number[]> {
  const servers: NetServer[] = [];
  for (let i = 0; i < n; i++) {
    const s = createNetServer();
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    servers.push(s);
  }
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** Holds a TCP port on 127.0.0.1 (another program), until closed. */
export async function occupy(port: number, host = '127.0.0.1'): Promise<{ close(): Promise<void> }> {
  const s = createNetServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, host, resolve);
  });
  return { close: () => new Promise((resolve) => s.close(() => resolve())) };
}

/** What Chromium sends when login.xero.com redirects the tab to the loopback callback (observed). */
export const NAVIGATION_HEADERS = {
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'sec-fetch-site': 'cross-site',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-user': '?1',
  'sec-fetch-dest': 'document',
  'upgrade-insecure-requests': '1',
};

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request with full control of method, Host and headers (no connection reuse). */
export function rawRequest(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; host?: string; connectHost?: string } = {},
): Promise<RawResponse> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: opts.connectHost ?? (u.hostname === 'localhost' ? '127.0.0.1' : u.hostname.replace(/^\[|\]$/g, '')),
        port: u.port,
        method: opts.method ?? 'GET',
        path: `${u.pathname}${u.search}`,
        headers: { host: opts.host ?? u.host, ...(opts.headers ?? {}) },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** A top-level navigation, as a browser makes it. */
export const navigate = (url: string, headers: Record<string, string> = {}) => rawRequest(url, { headers: { ...NAVIGATION_HEADERS, ...headers } });

/**
 * A headless "system browser" for the sandbox: GET the authorize URL (an arranged consent completes it with no
 * page), then follow its redirect to the loopback listener like a browser tab would. Records what it did.
 */
export function sandboxBrowser() {
  const visits: Array<{ authorizeStatus: number; callbackStatus: number | null; callbackBody: string | null }> = [];
  const open = async (url: string): Promise<void> => {
    const res = await fetch(url, { redirect: 'manual' });
    const location = res.headers.get('location');
    await res.text();
    if (res.status !== 302 || !location) {
      visits.push({ authorizeStatus: res.status, callbackStatus: null, callbackBody: null });
      return;
    }
    // Followed in the background, as a browser would after `open` returned.
    void navigate(new URL(location, url).href).then(
      (cb) => visits.push({ authorizeStatus: res.status, callbackStatus: cb.status, callbackBody: cb.body }),
      () => visits.push({ authorizeStatus: res.status, callbackStatus: null, callbackBody: null }),
    );
  };
  return { open, visits };
}
