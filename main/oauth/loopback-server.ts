import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/**
 * The loopback redirect listener of DESIGN.md §5 flow 1 (RFC 8252 §7.3/§8.3; security-anchors §5 #9–#12): the
 * adapter that owns the `node:http` server the system browser is sent back to after consent.
 *
 * - Binds the loopback interface only, trying the app's registered ports in order (Xero matches redirect URIs
 *   exactly, so an ephemeral port would be refused); with `redirectHost: 'localhost'` it also binds `::1` on
 *   the same port, so a browser that resolves `localhost` to IPv6 still reaches Relink and never someone else.
 * - Accepts one thing: `GET <path>` addressed to the loopback host and port (DNS rebinding), as a top-level
 *   navigation (no `Origin`, `Sec-Fetch-Mode` absent or `navigate`, `Sec-Fetch-Dest` absent or `document`),
 *   carrying the expected `state` (constant-time compare). `state` is single use: the first valid callback
 *   completes, later ones get a static "already completed" page and never a second result.
 * - `Sec-Fetch-Site: cross-site` is NOT refused: the genuine callback is a redirect from login.xero.com to
 *   127.0.0.1, which browsers label cross-site (Chromium sends `cross-site` + `navigate` + `document`).
 * - Every page is static: nothing from the request (code, state, error_description…) is ever reflected, and
 *   every page carries `Cache-Control: no-store`, a strict CSP and `Referrer-Policy: no-referrer`.
 * - Nothing here logs. The `code` lives only in the result handed to the caller.
 */

export type RedirectHost = '127.0.0.1' | 'localhost';

/** Error codes an authorization server may send back (RFC 6749 §4.1.2.1, OpenID Connect Core §3.1.2.6). */
export const AUTHORIZE_ERROR_CODES = [
  'invalid_request',
  'unauthorized_client',
  'access_denied',
  'unsupported_response_type',
  'invalid_scope',
  'server_error',
  'temporarily_unavailable',
  'interaction_required',
  'login_required',
  'account_selection_required',
  'consent_required',
  'invalid_request_uri',
  'invalid_request_object',
  'request_not_supported',
  'request_uri_not_supported',
  'registration_not_supported',
] as const;
export type AuthorizeErrorCode = (typeof AUTHORIZE_ERROR_CODES)[number];

export type CallbackResult =
  /** `params` is the whole callback query (code, state, scope, session_state…). It holds the code: never log it. */
  | { kind: 'code'; code: string; params: URLSearchParams }
  | { kind: 'denied' }
  /** Any other `error=`: only the code, and only if it is a known OAuth code (`unrecognised` otherwise). */
  | { kind: 'error'; error: AuthorizeErrorCode | 'unrecognised' }
  | { kind: 'timeout' }
  | { kind: 'cancelled' };

export interface LoopbackOptions {
  /** The app's registered redirect ports, in order of preference. */
  ports: number[];
  /** Path of the redirect URI (default `/callback`). */
  path?: string;
  /** Host written into the redirect URI; RFC 8252 §7.3 prefers the IP literal (default `127.0.0.1`). */
  redirectHost?: RedirectHost;
  expectedState: string;
  /** How long to wait for the callback. */
  timeoutMs: number;
  signal?: AbortSignal;
  /**
   * After the first valid callback the listener stays up (so a reload or a second tab gets "already
   * completed") until `close()` — or at most this long (default 10 s), so it never outlives its purpose.
   */
  lingerMs?: number;
}

export interface LoopbackCallback {
  redirectUri: string;
  port: number;
  /** Settles exactly once. Never rejects. */
  result: Promise<CallbackResult>;
  /** Stops listening and cuts open connections. Idempotent. A still-pending result becomes `cancelled`. */
  close(): Promise<void>;
}

/** Every registered port is taken (by another program, or another Relink sign-in in progress). */
export class LoopbackPortsBusyError extends Error {
  readonly ports: number[];
  /** Why each port could not be used: `EADDRINUSE` (taken) or `EACCES` (this user may not bind it). */
  readonly unavailable: Array<{ port: number; code: string }>;
  constructor(ports: number[], unavailable: Array<{ port: number; code: string }> = ports.map((port) => ({ port, code: 'EADDRINUSE' }))) {
    super(
      `The sign-in reply addresses (ports ${ports.join(', ')}) registered for this app are all ${portsBusyWords(unavailable)}. ` +
        "Close them and try again, or register another port in the provider's developer portal and add the app again with it. (ports-busy)",
    );
    this.name = 'LoopbackPortsBusyError';
    this.ports = [...ports];
    this.unavailable = unavailable.map((u) => ({ ...u }));
  }
}

/** "in use by other programs", or, when the system refused some of them outright, "in use or blocked". */
export function portsBusyWords(unavailable: Array<{ code: string }>): string {
  return unavailable.every((u) => u.code === 'EADDRINUSE')
    ? 'in use by other programs (or by another sign-in that is still waiting)'
    : 'in use by other programs or blocked on this computer';
}

// ---- Static pages ------------------------------------------------------------------------------------------

const STYLE =
  'body{font:16px/1.5 system-ui,sans-serif;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center;background:#f6f7f9;color:#1d2433}' +
  'main{max-width:32rem;padding:2rem;background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12)}h1{font-size:1.25rem;margin:0 0 .5rem}';
const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');

/** Nothing may load, run, frame or submit; only the one inline style block (by hash). */
const CSP = `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

function page(title: string, text: string): string {
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">` +
    `<title>${title} – Relink</title><style>${STYLE}</style></head>` +
    `<body><main><h1>${title}</h1><p>${text}</p><p>You can close this window and return to Relink.</p></main></body></html>`
  );
}

const PAGES = {
  connected: { status: 200, body: page('Signed in', 'Relink received the sign-in and is finishing the connection.') },
  denied: { status: 200, body: page('Not connected', 'The sign-in was cancelled, so nothing was connected.') },
  error: { status: 200, body: page('Not connected', 'The sign-in could not be completed. Relink will show what happened.') },
  completed: { status: 200, body: page('Already completed', 'This sign-in has already been completed.') },
  invalid: { status: 400, body: page('Not a valid sign-in', 'This address does not match the sign-in Relink is waiting for.') },
  forbidden: { status: 403, body: page('Refused', 'Relink only accepts the sign-in from your browser’s address bar.') },
  misdirected: { status: 421, body: page('Refused', 'This request was not addressed to Relink.') },
  method: { status: 405, body: page('Refused', 'Relink only accepts the sign-in as a normal page visit.') },
  notFound: { status: 404, body: page('Not found', 'There is nothing here.') },
} as const;
type PageName = keyof typeof PAGES;

function send(res: ServerResponse, name: PageName): void {
  const { status, body } = PAGES[name];
  const headers: Record<string, string> = {
    'content-type': 'text/html; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
    pragma: 'no-cache',
    'content-security-policy': CSP,
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'cross-origin-resource-policy': 'same-origin',
    connection: 'close',
  };
  if (name === 'method') headers.allow = 'GET';
  res.writeHead(status, headers);
  res.end(body);
}

// ---- Binding -----------------------------------------------------------------------------------------------

type ListenOutcome = { ok: true } | { ok: false; code: string; error: Error };

function listen(server: Server, port: number, host: string): Promise<ListenOutcome> {
  return new Promise((resolve) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      resolve({ ok: false, code: error.code ?? 'UNKNOWN', error });
    };
    const onListening = () => {
      server.off('error', onError);
      resolve({ ok: true });
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ port, host, exclusive: true });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** A port that is taken, or that this user may not bind (Windows excluded ranges, privileged ports). */
const PORT_UNAVAILABLE = new Set(['EADDRINUSE', 'EACCES']);
/** The machine has no IPv6 loopback. */
const NO_IPV6 = new Set(['EADDRNOTAVAIL', 'EAFNOSUPPORT', 'EINVAL']);

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Constant-time comparison of the received state with the expected one (hashes hide the length too). */
function stateMatches(received: string, expectedHash: Buffer): boolean {
  return timingSafeEqual(sha256(received), expectedHash);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

export async function startLoopbackCallback(opts: LoopbackOptions): Promise<LoopbackCallback> {
  const path = opts.path ?? '/callback';
  const redirectHost = opts.redirectHost ?? '127.0.0.1';
  if (!path.startsWith('/') || path.includes('?') || path.includes('#')) throw new Error(`The callback path must be a plain absolute path, not ${JSON.stringify(path)}.`);
  if (opts.ports.length === 0) throw new Error('No redirect port is registered for this app.');
  for (const p of opts.ports) {
    if (!Number.isInteger(p) || p < 1 || p > 65_535) throw new Error(`Not a valid redirect port: ${p}.`);
  }
  if (!opts.expectedState) throw new Error('An expected state is required.');
  const expectedHash = sha256(opts.expectedState);

  let phase: 'waiting' | 'completed' | 'ended' = 'waiting';
  let settle!: (r: CallbackResult) => void;
  const result = new Promise<CallbackResult>((resolve) => (settle = resolve));
  const servers: Server[] = [];
  let port = 0;
  let allowedHosts = new Set<string>();
  let timeout: NodeJS.Timeout | undefined;
  let linger: NodeJS.Timeout | undefined;
  let closing: Promise<void> | undefined;

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    // Never read or keep a body; never log.
    req.resume();
    if (!allowedHosts.has((header(req, 'host') ?? '').toLowerCase())) return send(res, 'misdirected');
    const target = req.url ?? '';
    if (!target.startsWith('/')) return send(res, 'misdirected'); // absolute-form or garbage
    const url = new URL(target, 'http://loopback.invalid');
    if (url.pathname !== path) return send(res, 'notFound');
    if (req.method !== 'GET') return send(res, 'method');
    // Only a top-level navigation: no script (Origin / cors / no-cors), no frame, no image, no form post.
    const mode = header(req, 'sec-fetch-mode');
    const dest = header(req, 'sec-fetch-dest');
    if (header(req, 'origin') !== undefined || (mode !== undefined && mode !== 'navigate') || (dest !== undefined && dest !== 'document')) {
      return send(res, 'forbidden');
    }
    if (phase !== 'waiting') return send(res, 'completed');

    const q = url.searchParams;
    const states = q.getAll('state');
    if (states.length !== 1 || !stateMatches(states[0]!, expectedHash)) return send(res, 'invalid');
    const errors = q.getAll('error');
    const codes = q.getAll('code');
    if (errors.length > 1 || codes.length > 1) return send(res, 'invalid');
    if (errors.length === 1) {
      const error = errors[0]!;
      if (error === 'access_denied') {
        complete({ kind: 'denied' });
        return send(res, 'denied');
      }
      complete({ kind: 'error', error: (AUTHORIZE_ERROR_CODES as readonly string[]).includes(error) ? (error as AuthorizeErrorCode) : 'unrecognised' });
      return send(res, 'error');
    }
    if (codes.length !== 1 || !codes[0]) return send(res, 'invalid');
    complete({ kind: 'code', code: codes[0], params: new URLSearchParams(q) });
    return send(res, 'connected');
  };

  const newServer = () => {
    const s = createServer({ requestTimeout: 15_000, headersTimeout: 10_000, maxHeaderSize: 16 * 1024 }, handler);
    s.keepAliveTimeout = 1_000;
    // A client error (bad request line, header overflow) gets a bare 400 and the socket goes.
    s.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else socket.destroy();
    });
    return s;
  };

  // Try the registered ports in order. With `localhost`, a port counts as free only if both loopbacks are.
  const unavailable: Array<{ port: number; code: string }> = [];
  for (const candidate of opts.ports) {
    const v4 = newServer();
    const bound = await listen(v4, candidate, '127.0.0.1');
    if (!bound.ok) {
      if (PORT_UNAVAILABLE.has(bound.code)) {
        unavailable.push({ port: candidate, code: bound.code });
        continue;
      }
      throw new Error(`Relink could not listen for the sign-in on 127.0.0.1:${candidate}: ${bound.code}.`);
    }
    const group = [v4];
    if (redirectHost === 'localhost') {
      const v6 = newServer();
      const bound6 = await listen(v6, candidate, '::1');
      if (bound6.ok) group.push(v6);
      else if (PORT_UNAVAILABLE.has(bound6.code)) {
        // Someone else holds [::1]:port: a browser resolving localhost to ::1 would hand them the code.
        await closeServer(v4);
        unavailable.push({ port: candidate, code: bound6.code });
        continue;
      } else if (!NO_IPV6.has(bound6.code)) {
        await closeServer(v4);
        throw new Error(`Relink could not listen for the sign-in on [::1]:${candidate}: ${bound6.code}.`);
      }
    }
    servers.push(...group);
    port = candidate;
    break;
  }
  if (servers.length === 0) throw new LoopbackPortsBusyError(opts.ports, unavailable);
  allowedHosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);

  const close = (): Promise<void> => {
    if (!closing) {
      if (phase === 'waiting') settle({ kind: 'cancelled' });
      phase = 'ended';
      if (timeout) clearTimeout(timeout);
      if (linger) clearTimeout(linger);
      opts.signal?.removeEventListener('abort', onAbort);
      closing = Promise.all(servers.map(closeServer)).then(() => undefined);
    }
    return closing;
  };

  function complete(r: CallbackResult): void {
    if (phase !== 'waiting') return;
    phase = 'completed';
    if (timeout) clearTimeout(timeout);
    opts.signal?.removeEventListener('abort', onAbort);
    settle(r);
    linger = setTimeout(() => void close(), opts.lingerMs ?? 10_000);
    linger.unref();
  }

  function end(r: CallbackResult): void {
    if (phase !== 'waiting') return;
    phase = 'ended';
    settle(r);
    void close();
  }

  function onAbort(): void {
    end({ kind: 'cancelled' });
  }

  timeout = setTimeout(() => end({ kind: 'timeout' }), Math.max(0, opts.timeoutMs));
  timeout.unref();
  if (opts.signal?.aborted) end({ kind: 'cancelled' });
  else opts.signal?.addEventListener('abort', onAbort, { once: true });

  return { redirectUri: `http://${redirectHost}:${port}${path}`, port, result, close };
}
