import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import path from 'node:path';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { z } from 'zod';
import { wireRequestSchema, type ApiResult, type EventName, type WireEvent, type WireResponse } from '../../shared/api.js';
import type { ApiHost } from '../api/dispatcher.js';

/**
 * Browser mode's HTTP + WebSocket server: the only file that imports `node:http` and `ws` for it.
 *
 * It serves the built renderer and carries the window API over one WebSocket at `/api`, on 127.0.0.1 only.
 * Anything on this computer can reach a loopback port — other users, and every web page in every browser
 * (through DNS rebinding or a cross-site WebSocket) — so three things guard the API:
 *  - the Host header must be exactly `127.0.0.1:PORT`, which a rebound DNS name cannot produce;
 *  - the WebSocket's Origin must be exactly `http://127.0.0.1:PORT`, which no other site's page can send;
 *  - the first message must carry the per-run secret, which only the person who read the printed address has.
 *    It travels in the address's #fragment, which browsers never send in a request.
 * The static files themselves are public (the renderer holds no secret); the API is not.
 */

export interface BrowserServerOptions {
  host: ApiHost;
  /** The built renderer (`dist/renderer`): index.html and its assets. */
  rendererDir: string;
  /** 0 (the default) takes any free port. */
  port?: number;
  /** How long a new socket has to present the key. */
  helloTimeoutMs?: number;
  /** Largest inbound WebSocket message; a larger one closes the socket (1009). */
  maxPayloadBytes?: number;
  /** A socket with more than this waiting to be sent is too slow to keep up, and is closed. */
  maxBufferedBytes?: number;
  /** Lines for the log: never the key, never a payload. */
  log?: (line: string) => void;
}

export interface BrowserServer {
  readonly port: number;
  /** `http://127.0.0.1:PORT` */
  readonly origin: string;
  /** The address to open: the origin with the key in its fragment. Print it; never log it elsewhere. */
  readonly url: string;
  /** The per-run secret (base64url of 32 random bytes). */
  readonly key: string;
  /** Sockets that presented the key and are still open. */
  authenticatedCount(): number;
  close(): Promise<void>;
}

export class BrowserServerError extends Error {
  constructor(
    readonly reason: 'renderer-missing' | 'port-in-use' | 'port-not-allowed' | 'listen-failed',
    message: string,
  ) {
    super(message);
    this.name = 'BrowserServerError';
  }
}

const BIND_ADDRESS = '127.0.0.1';
const API_PATH = '/api';

/** WebSocket close codes (RFC 6455 §7.4.1). */
export const CLOSE = {
  goingAway: 1001,
  unsupportedData: 1003,
  invalidPayload: 1007,
  policyViolation: 1008,
  tooBig: 1009,
  tryAgainLater: 1013,
} as const;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

/** Used when the built index.html has no CSP of its own (it always should): the same policy Electron uses. */
const DEFAULT_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const CSP_META = /<meta\s+http-equiv=(["'])Content-Security-Policy\1\s+content=(["'])(.*?)\2\s*\/?>/i;

const helloSchema = z.object({ type: z.literal('hello'), key: z.string().max(200) }).strict();

/**
 * The policy with its `connect-src` replaced by exactly `connectSrc` (added when missing). Two policies in
 * force are intersected, so the meta's `connect-src 'none'` must be rewritten, not just outdone by a header.
 */
export function withConnectSrc(policy: string, connectSrc: string): string {
  const directives = policy
    .split(';')
    .map((d) => d.trim())
    .filter(Boolean);
  let found = false;
  const rewritten = directives.map((d) => {
    if (d.split(/\s+/)[0]!.toLowerCase() !== 'connect-src') return d;
    found = true;
    return `connect-src ${connectSrc}`;
  });
  if (!found) rewritten.push(`connect-src ${connectSrc}`);
  return rewritten.join('; ');
}

/** index.html as browser mode serves it, and the policy to send as a header with every response. */
export function prepareIndex(html: string, origin: string): { html: string; csp: string } {
  const connectSrc = origin.replace(/^http:/, 'ws:');
  const match = CSP_META.exec(html);
  if (!match) return { html, csp: withConnectSrc(DEFAULT_CSP, connectSrc) };
  const csp = withConnectSrc(match[3]!, connectSrc);
  const q = match[2]!;
  const meta = `<meta http-equiv=${match[1]}Content-Security-Policy${match[1]} content=${q}${csp}${q} />`;
  return { html: html.slice(0, match.index) + meta + html.slice(match.index + match[0].length), csp };
}

/** Constant-time comparison of the presented key (hashed first, so even the length does not leak). */
function sameKey(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * The file under `root` that a request path names, or null when it names nothing servable: traversal (`..`,
 * encoded or not), dotfiles, backslashes, NUL, anything that is not a plain file inside `root` after symlinks.
 */
function resolveStatic(root: string, rawPath: string): { file: string } | { refused: 400 | 404 } {
  if (!rawPath.startsWith('/')) return { refused: 400 };
  const segments: string[] = [];
  for (const raw of rawPath === '/' ? ['index.html'] : rawPath.slice(1).split('/')) {
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return { refused: 400 };
    }
    if (seg === '' || seg.startsWith('.') || /[/\\\0:]/.test(seg)) return { refused: 400 };
    segments.push(seg);
  }
  const candidate = path.join(root, ...segments);
  let real: string;
  try {
    real = fs.realpathSync(candidate);
  } catch {
    return { refused: 404 };
  }
  if (!real.startsWith(root + path.sep)) return { refused: 404 };
  try {
    if (!fs.statSync(real).isFile()) return { refused: 404 };
  } catch {
    return { refused: 404 };
  }
  return { file: real };
}

/** Keeps header values printable and short for the log (they come from whoever connects). */
function shown(value: string | undefined): string {
  return value === undefined ? '(none)' : JSON.stringify(value.slice(0, 100));
}

export async function startBrowserServer(opts: BrowserServerOptions): Promise<BrowserServer> {
  const log = opts.log ?? (() => undefined);
  const helloTimeoutMs = opts.helloTimeoutMs ?? 5_000;
  const maxBufferedBytes = opts.maxBufferedBytes ?? 16 * 1024 * 1024;
  const requestedPort = opts.port ?? 0;
  if (!Number.isInteger(requestedPort) || requestedPort < 0 || requestedPort > 65_535) {
    throw new BrowserServerError('port-not-allowed', `The port must be a whole number from 0 to 65535, not ${requestedPort}.`);
  }

  let root: string;
  let indexSource: string;
  try {
    root = fs.realpathSync(path.resolve(opts.rendererDir));
    indexSource = fs.readFileSync(path.join(root, 'index.html'), 'utf8');
  } catch {
    throw new BrowserServerError(
      'renderer-missing',
      `Relink's window is not built yet (there is no ${path.join(opts.rendererDir, 'index.html')}). Run npm run build:renderer, then start again.`,
    );
  }

  const key = randomBytes(32).toString('base64url');
  // Known once listening; the request handlers only run after that.
  let port = 0;
  let origin = '';
  let index = { html: '', csp: '' };

  const securityHeaders = (): Record<string, string> => ({
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Content-Security-Policy': index.csp,
  });

  const plain = (res: http.ServerResponse, status: number, text: string, extra: Record<string, string> = {}) => {
    res.writeHead(status, { ...securityHeaders(), 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...extra });
    res.end(`${text}\n`);
  };

  const hostOk = (req: http.IncomingMessage) => req.headers.host === `${BIND_ADDRESS}:${port}`;

  const server = http.createServer((req, res) => {
    if (!hostOk(req)) {
      // A DNS name rebound to 127.0.0.1 arrives with its own name as Host: not for us.
      return plain(res, 421, `This is Relink; open it at ${origin}/ (the address Relink printed).`);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return plain(res, 405, 'Relink only serves its window here.', { Allow: 'GET, HEAD' });
    }
    const rawPath = (req.url ?? '').split('?')[0]!;
    if (rawPath === API_PATH) return plain(res, 426, 'This address is for the window\'s WebSocket.', { Upgrade: 'websocket' });
    const found = resolveStatic(root, rawPath);
    if ('refused' in found) return plain(res, found.refused, found.refused === 400 ? 'Bad path.' : 'Not found.');
    const isIndex = found.file === path.join(root, 'index.html');
    const headers: Record<string, string> = {
      ...securityHeaders(),
      'Content-Type': CONTENT_TYPES[path.extname(found.file).toLowerCase()] ?? 'application/octet-stream',
      // The page itself is never cached (its CSP names this run's port); hashed assets may be, briefly revalidated.
      'Cache-Control': isIndex ? 'no-store' : 'no-cache',
    };
    if (isIndex) {
      const body = Buffer.from(index.html, 'utf8');
      res.writeHead(200, { ...headers, 'Content-Length': String(body.length) });
      return res.end(req.method === 'HEAD' ? undefined : body);
    }
    let size: number;
    try {
      size = fs.statSync(found.file).size;
    } catch {
      return plain(res, 404, 'Not found.');
    }
    res.writeHead(200, { ...headers, 'Content-Length': String(size) });
    if (req.method === 'HEAD') return res.end();
    const stream = fs.createReadStream(found.file);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxPayloadBytes ?? 1024 * 1024, perMessageDeflate: false });
  const authenticated = new Set<WebSocket>();
  const refusedOrigins = new Set<string>();

  const refuseUpgrade = (socket: Duplex, status: number, reason: string) => {
    socket.once('finish', () => socket.destroy());
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  };

  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    if (!hostOk(req)) return refuseUpgrade(socket, 421, 'Misdirected Request');
    if ((req.url ?? '').split('?')[0] !== API_PATH) return refuseUpgrade(socket, 404, 'Not Found');
    if (req.headers.origin !== origin) {
      // Once per origin: a hostile page retrying in a loop must not flood the log.
      const who = shown(req.headers.origin);
      if (!refusedOrigins.has(who) && refusedOrigins.size < 20) {
        refusedOrigins.add(who);
        log(`Refused a connection to the window API from origin ${who}: only Relink's own page may connect.`);
      }
      return refuseUpgrade(socket, 403, 'Forbidden');
    }
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws));
  });

  const send = (ws: WebSocket, message: WireResponse | WireEvent | string) => {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > maxBufferedBytes) {
      // A page that stopped reading; it reconnects and asks for a fresh picture when it wakes up.
      ws.close(CLOSE.tryAgainLater, 'Too far behind');
      return;
    }
    ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  };

  const onConnection = (ws: WebSocket) => {
    let authed = false;
    const helloTimer = setTimeout(() => ws.close(CLOSE.policyViolation, 'No key presented'), helloTimeoutMs);
    helloTimer.unref();
    ws.on('error', () => undefined); // e.g. an oversize message: ws closes the socket itself (1009)
    ws.on('close', () => {
      clearTimeout(helloTimer);
      authenticated.delete(ws);
    });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) return ws.close(CLOSE.unsupportedData, 'Text messages only');
      let message: unknown;
      try {
        message = JSON.parse(data.toString());
      } catch {
        return ws.close(authed ? CLOSE.invalidPayload : CLOSE.policyViolation, 'Not JSON');
      }
      if (!authed) {
        const hello = helloSchema.safeParse(message);
        clearTimeout(helloTimer);
        if (!hello.success || !sameKey(hello.data.key, key)) {
          log('Refused a window that did not present this run\'s key (an old tab from an earlier run, or not Relink\'s page).');
          return ws.close(CLOSE.policyViolation, 'Wrong key');
        }
        authed = true;
        authenticated.add(ws);
        return;
      }
      const request = wireRequestSchema.safeParse(message);
      if (!request.success) {
        const id = (message as { id?: unknown } | null)?.id;
        if ((message as { type?: unknown } | null)?.type === 'request' && Number.isInteger(id) && (id as number) >= 0) {
          const result: ApiResult<never> = { ok: false, error: { code: 'invalid-arguments', message: 'That request was not understood.' } };
          return send(ws, { type: 'response', id: id as number, result });
        }
        return ws.close(CLOSE.policyViolation, 'Message not understood');
      }
      const { id, channel, args } = request.data;
      void opts.host
        .dispatch(channel, args)
        .catch((): ApiResult<never> => ({
          // dispatch never throws; this only keeps a broken host from taking the server down.
          ok: false,
          error: { code: 'internal', message: 'Something went wrong inside Relink; nothing was changed. Please try again.' },
        }))
        .then((result) => send(ws, { type: 'response', id, result }));
    });
  };

  const unsubscribe = opts.host.subscribe((event: EventName, payload: unknown) => {
    if (authenticated.size === 0) return;
    const text = JSON.stringify({ type: 'event', event, payload } satisfies WireEvent);
    for (const ws of authenticated) send(ws, text);
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: requestedPort, host: BIND_ADDRESS, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    unsubscribe();
    wss.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new BrowserServerError(
        'port-in-use',
        `Port ${requestedPort} on ${BIND_ADDRESS} is already in use (another Relink, or another program). Choose another with --port N, or leave --port out to use any free port.`,
      );
    }
    if (code === 'EACCES') {
      throw new BrowserServerError('port-not-allowed', `This computer does not allow Relink to use port ${requestedPort}. Choose a port from 1024 to 65535, or leave --port out.`);
    }
    throw new BrowserServerError('listen-failed', `Relink could not listen on ${BIND_ADDRESS}:${requestedPort}: ${code ?? (err as Error).message}.`);
  }
  port = (server.address() as AddressInfo).port;
  origin = `http://${BIND_ADDRESS}:${port}`;
  index = prepareIndex(indexSource, origin);

  let closing: Promise<void> | null = null;
  return {
    port,
    origin,
    url: `${origin}/#key=${key}`,
    key,
    authenticatedCount: () => authenticated.size,
    close: () =>
      (closing ??= (async () => {
        unsubscribe();
        const closed = new Promise<void>((resolve) => wss.close(() => resolve()));
        for (const ws of wss.clients) ws.close(CLOSE.goingAway, 'Relink is stopping');
        // A page that does not answer the closing handshake within a second is cut off rather than waited for.
        const grace = setTimeout(() => {
          for (const ws of wss.clients) ws.terminate();
        }, 1_000);
        await closed;
        clearTimeout(grace);
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })()),
  };
}
