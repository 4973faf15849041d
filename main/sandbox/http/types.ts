/**
 * The sandbox's routes work on this small request/outcome model rather than on node:http objects, so the
 * whole emulator runs in-process for unit tests and only `server.ts` touches sockets. An outcome can also be
 * "hang" (accept and never answer: timeouts, lost responses) or "reset" (drop the connection).
 */
export interface SbRequest {
  method: string;
  url: URL;
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
  body: Buffer;
}

export type SbOutcome =
  | { kind: 'respond'; status: number; headers: Record<string, string>; body: string | Buffer }
  | { kind: 'hang' }
  | { kind: 'reset' };

export function respond(status: number, body: string | Buffer, headers: Record<string, string> = {}): SbOutcome {
  return { kind: 'respond', status, headers, body };
}

export function json(status: number, value: unknown, headers: Record<string, string> = {}): SbOutcome {
  return respond(status, JSON.stringify(value), { 'content-type': 'application/json; charset=utf-8', ...headers });
}

export function html(status: number, page: string, headers: Record<string, string> = {}): SbOutcome {
  return respond(status, page, {
    'content-type': 'text/html; charset=utf-8',
    // The consent pages are static forms: no scripts, nothing framed, nothing loaded from elsewhere.
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http: https:; frame-ancestors 'none'",
    'x-frame-options': 'DENY',
    ...headers,
  });
}

export function redirect(location: string, status = 302): SbOutcome {
  return respond(status, '', { location, 'cache-control': 'no-store' });
}

export function empty(status: number, headers: Record<string, string> = {}): SbOutcome {
  return respond(status, '', headers);
}

export function readForm(req: SbRequest): URLSearchParams | null {
  const type = req.headers['content-type'] ?? '';
  if (!type.toLowerCase().startsWith('application/x-www-form-urlencoded')) return null;
  return new URLSearchParams(req.body.toString('utf8'));
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Bearer token from an Authorization header, or null. */
export function bearer(req: SbRequest): string | null {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers['authorization'] ?? '');
  return m ? m[1]! : null;
}
