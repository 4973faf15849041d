import path from 'node:path';

/**
 * The Electron shell's security decisions, as plain functions of plain facts, so that every rule can be unit
 * tested without Electron. The adapter files (window.ts, ipc.ts, app-protocol.ts) only gather the facts and
 * act on the answers.
 *
 * Relink's window loads only its own build, from a private `app://relink/` origin (not `file://`, where every
 * file on the disk would share one origin with the window). URLs are always compared parsed — protocol and
 * host exactly — never with `startsWith`, which would let `app://relink.evil/` or `https://login.xero.com.evil.com`
 * through (Electron security checklist, item 13).
 */

export const APP_SCHEME = 'app';
export const APP_HOST = 'relink';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`;

/**
 * Sent with every page and script the window loads, on top of the `<meta>` policy in renderer/index.html: the
 * window may load only its own files and may not talk to the network at all (`connect-src 'none'`), because
 * every network call belongs to the main process. `'unsafe-inline'` is for React's `style` attributes only;
 * scripts stay `'self'`.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function parseUrl(url: unknown): URL | null {
  if (typeof url !== 'string') return null;
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/** A page of Relink's own build: exactly `app://relink/…`, no user name, no port. */
export function isAppUrl(url: unknown): boolean {
  const u = parseUrl(url);
  // Node gives non-special schemes an opaque origin ("null"), so compare protocol and host, not `origin`.
  return u !== null && u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST && u.username === '' && u.password === '';
}

/** For log lines: where a URL points, without its path or query (which could carry anything). */
export function describeOrigin(url: unknown): string {
  const u = parseUrl(url);
  if (!u) return 'an address that is not a valid URL';
  return u.host ? `${u.protocol}//${u.host}` : `a ${u.protocol} address`;
}

/** What ipc.ts knows about the sender of one IPC message. */
export interface SenderFacts {
  /** The message came from the webContents of Relink's own window (identity, not a look-alike). */
  fromOurWindow: boolean;
  /** The URL of the frame that sent it, or null when Electron no longer has the frame. */
  frameUrl: string | null;
  /** The frame is the page itself, not an embedded frame inside it. */
  isTopFrame: boolean;
}

/**
 * Why an IPC message must be refused, or null when it comes from Relink's own page in Relink's own window
 * (Electron security checklist, item 17: validate the sender of every IPC message).
 */
export function senderRefusal(facts: SenderFacts): string | null {
  if (!facts.fromOurWindow) return 'it came from a web page that is not Relink’s window';
  if (facts.frameUrl === null) return 'the page that sent it has gone';
  if (!facts.isTopFrame) return 'it came from a frame embedded in the page';
  if (!isAppUrl(facts.frameUrl)) return `it came from ${describeOrigin(facts.frameUrl)}, not from Relink’s own page`;
  return null;
}

/** What to do when the window tries to go somewhere: stay (same app page) or refuse. */
export function mayNavigate(url: unknown): boolean {
  return isAppUrl(url);
}

/**
 * The file of the renderer build that an `app://relink/…` request asks for, or null when the request is for
 * another host or would leave the build folder (`..`, encoded slashes, NUL bytes). `rootDir` must be absolute.
 */
export function appFilePath(rootDir: string, requestUrl: string): string | null {
  const u = parseUrl(requestUrl);
  if (!u || !isAppUrl(u.href)) return null;
  let pathname: string;
  try {
    pathname = decodeURIComponent(u.pathname);
  } catch {
    return null;
  }
  if (pathname.includes('\0')) return null;
  const relativeRequest = pathname.replace(/^[/\\]+/, '') || 'index.html';
  const full = path.resolve(rootDir, relativeRequest);
  const inside = path.relative(rootDir, full);
  if (inside === '' || inside.split(/[/\\]/)[0] === '..' || path.isAbsolute(inside)) return null;
  return full;
}
