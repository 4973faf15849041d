import { HELP_URLS } from '../../shared/help-links.js';
import { SANDBOX_PORTAL_PATH } from '../sandbox/xero/portal-path.js';
import { describeOrigin, parseUrl } from './policy.js';

/**
 * What Relink may open in the system browser, and the openers that enforce it (Electron security checklist,
 * item 15: never `shell.openExternal` on untrusted content). Two kinds of page qualify:
 *
 * - a sign-in (authorize) page: Xero's own sign-in origins, or the issuer origin of an app the advisor set up
 *   (the built-in sandbox's `http://127.0.0.1:PORT` in the demo, or a firm's own https issuer);
 * - one of the fixed help pages in shared/help-links.ts, exactly;
 * - in demo mode only, the built-in sandbox's stand-in for Xero's developer portal, exactly. It shows the
 *   sandbox apps' secrets, so outside the demo it is refused even though it lives on a sign-in origin.
 *
 * URLs are parsed and their protocol and host compared exactly, so `https://login.xero.com.evil.com`,
 * `https://login.xero.com@evil.com` (user name "login.xero.com" at evil.com), `javascript:` and `file:` are
 * all refused. This file takes `openExternal` as a parameter; main.ts passes Electron's `shell.openExternal`.
 */

export { HELP_URLS };

/** Xero's sign-in pages: the authorize endpoint is on login.xero.com, the issuer is identity.xero.com. */
export const XERO_SIGN_IN_ORIGINS: readonly string[] = ['https://login.xero.com', 'https://identity.xero.com'];

const LOOPBACK_HOSTNAMES = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** `protocol//host[:port]` of an https URL or of an http URL on this computer, else null. */
function trustedOrigin(url: unknown): string | null {
  const u = parseUrl(url);
  if (!u || u.username || u.password) return null;
  if (u.protocol === 'https:' || (u.protocol === 'http:' && LOOPBACK_HOSTNAMES.has(u.hostname))) return `${u.protocol}//${u.host}`;
  return null;
}

/**
 * A sign-in page Relink may open: Xero's, or on the origin of a configured app's issuer (https, or http on
 * the loopback interface for the sandbox). `issuerOrigins` are the issuers of the apps set up now.
 */
export function isAllowedAuthorizeUrl(url: unknown, issuerOrigins: Iterable<string> = []): boolean {
  const origin = trustedOrigin(url);
  if (origin === null) return false;
  // The sandbox's developer portal is not a sign-in page, whatever origin it is on (see isAllowedDemoPortalUrl).
  if (parseUrl(url)!.pathname.replace(/\/+$/, '') === SANDBOX_PORTAL_PATH) return false;
  if (XERO_SIGN_IN_ORIGINS.includes(origin)) return true;
  for (const issuer of issuerOrigins) {
    if (trustedOrigin(issuer) === origin) return true;
  }
  return false;
}

const HELP_HREFS = new Set(Object.values(HELP_URLS).map((u) => new URL(u).href));

/** One of the fixed help pages, exactly (same scheme, host, path and query). */
export function isAllowedHelpUrl(url: unknown): boolean {
  const u = parseUrl(url);
  return u !== null && u.protocol === 'https:' && !u.username && !u.password && HELP_HREFS.has(u.href);
}

/**
 * The demo's developer portal (the sandbox's stand-in for Xero's), exactly as the running demo names it:
 * `demoPortalUrl` is null whenever the demo is not running, and then nothing matches.
 */
export function isAllowedDemoPortalUrl(url: unknown, demoPortalUrl: string | null): boolean {
  if (!demoPortalUrl) return false;
  const u = parseUrl(url);
  const want = parseUrl(demoPortalUrl);
  return u !== null && want !== null && trustedOrigin(url) !== null && u.href === want.href;
}

export class RefusedLinkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RefusedLinkError';
  }
}

export interface ExternalLinksOptions {
  /** Electron's `shell.openExternal` (or a fake in tests). Only ever called after the checks below. */
  openExternal: (url: string) => Promise<void>;
  /** The issuer origins of the apps set up now (read at each call: apps come and go, the demo adds one). */
  issuerOrigins: () => Iterable<string>;
  /** The demo's developer portal while the demo runs, else null (read at each call: the demo starts later). */
  demoPortalUrl?: () => string | null;
  log?: (line: string) => void;
}

export interface ExternalLinks {
  /** RelinkAppOptions.openAuthorizeUrl: rejects with a RefusedLinkError for anything but a sign-in page. */
  openAuthorizeUrl(url: string): Promise<void>;
  /** RelinkAppOptions.openHelpUrl: rejects with a RefusedLinkError for anything but a help page. */
  openHelpUrl(url: string): Promise<void>;
  /**
   * A link the window itself tried to open (a `target=_blank` link, or a click that would navigate away):
   * opened in the browser when it is a sign-in or help page, otherwise ignored. Never rejects.
   */
  openFromWindow(url: string): Promise<boolean>;
}

export function createExternalLinks(opts: ExternalLinksOptions): ExternalLinks {
  const log = opts.log ?? (() => {});
  const helpOrPortal = (url: string) => isAllowedHelpUrl(url) || isAllowedDemoPortalUrl(url, opts.demoPortalUrl?.() ?? null);
  const open = async (url: string) => {
    // Hand the browser the normalised form we checked, never the raw string.
    await opts.openExternal(new URL(url).href);
  };
  return {
    async openAuthorizeUrl(url) {
      if (!isAllowedAuthorizeUrl(url, opts.issuerOrigins())) {
        log(`relink: did not open a sign-in page on ${describeOrigin(url)}: it is neither Xero's nor a configured app's`);
        throw new RefusedLinkError(
          `Relink did not open that sign-in page: ${describeOrigin(url)} is neither Xero's sign-in page nor the sign-in page of one of your apps.`,
        );
      }
      await open(url);
    },
    async openHelpUrl(url) {
      if (!helpOrPortal(url)) {
        log(`relink: did not open a help page on ${describeOrigin(url)}: it is not one of Relink's help pages`);
        throw new RefusedLinkError(`Relink did not open that page: ${describeOrigin(url)} is not one of Relink's help pages.`);
      }
      await open(url);
    },
    async openFromWindow(url) {
      if (!helpOrPortal(url) && !isAllowedAuthorizeUrl(url, opts.issuerOrigins())) {
        log(`relink: the window tried to open ${describeOrigin(url)}; refused`);
        return false;
      }
      try {
        await open(url);
        return true;
      } catch (err) {
        log(`relink: the system browser did not open ${describeOrigin(url)}: ${(err as Error).message}`);
        return false;
      }
    },
  };
}
