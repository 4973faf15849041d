import { describe, expect, it } from 'vitest';
import { HELP_TOPICS } from '../../../shared/api.js';
import {
  createExternalLinks,
  HELP_URLS,
  isAllowedAuthorizeUrl,
  isAllowedDemoPortalUrl,
  isAllowedHelpUrl,
  RefusedLinkError,
} from '../../../main/electron/external-links.js';
import { SANDBOX_PORTAL_PATH } from '../../../main/sandbox/xero/portal-path.js';

/** Electron security checklist item 15: `shell.openExternal` only ever sees allow-listed addresses. */

const AUTHORIZE = 'https://login.xero.com/identity/connect/authorize?response_type=code&client_id=ABC&state=s&code_challenge=c';
const SANDBOX = 'http://127.0.0.1:4417';

const REFUSED = [
  'http://evil.example/connect/authorize',
  'http://login.xero.com/identity/connect/authorize',
  'https://login.xero.com.evil.com/identity/connect/authorize',
  'https://evil.com/?https://login.xero.com',
  'https://login.xero.com@evil.com/identity/connect/authorize',
  'https://user:pass@login.xero.com/identity/connect/authorize',
  'https://login.xero.com:8443/identity/connect/authorize',
  'https://xero.com/',
  'https://evil-login.xero.com/',
  'javascript:alert(1)',
  "javascript://login.xero.com/%0aalert('x')",
  'file:///etc/passwd',
  'file://login.xero.com/etc/passwd',
  'data:text/html,<script>alert(1)</script>',
  'app://relink/index.html',
  'ms-settings:privacy',
  'http://127.0.0.1:9999/connect/authorize',
  'http://127.0.0.1.evil.com:4417/connect/authorize',
  '//login.xero.com/identity/connect/authorize',
  'login.xero.com/identity/connect/authorize',
  '',
  ' ',
];

describe('sign-in (authorize) pages', () => {
  it("allows Xero's sign-in origins", () => {
    expect(isAllowedAuthorizeUrl(AUTHORIZE)).toBe(true);
    expect(isAllowedAuthorizeUrl('https://identity.xero.com/connect/authorize?x=1')).toBe(true);
    expect(isAllowedAuthorizeUrl('HTTPS://LOGIN.XERO.COM:443/identity/connect/authorize')).toBe(true);
  });

  it('allows the sandbox origin only while an app has it as its issuer', () => {
    const url = `${SANDBOX}/connect/authorize?client_id=x`;
    expect(isAllowedAuthorizeUrl(url)).toBe(false);
    expect(isAllowedAuthorizeUrl(url, [SANDBOX])).toBe(true);
    expect(isAllowedAuthorizeUrl(url, [`${SANDBOX}/`])).toBe(true);
    expect(isAllowedAuthorizeUrl(url, ['http://127.0.0.1:4418'])).toBe(false);
    expect(isAllowedAuthorizeUrl('http://[::1]:4417/connect/authorize', ['http://[::1]:4417'])).toBe(true);
  });

  it('allows a firm’s own https issuer but never a plain-http one off this computer', () => {
    expect(isAllowedAuthorizeUrl('https://id.firm.example/authorize', ['https://id.firm.example'])).toBe(true);
    expect(isAllowedAuthorizeUrl('http://id.firm.example/authorize', ['http://id.firm.example'])).toBe(false);
  });

  for (const url of REFUSED) {
    it(`refuses ${JSON.stringify(url)}`, () => {
      expect(isAllowedAuthorizeUrl(url, [SANDBOX])).toBe(false);
      expect(isAllowedHelpUrl(url)).toBe(false);
    });
  }

  it('refuses what is not a string', () => {
    for (const value of [null, undefined, 42, { href: AUTHORIZE }, new URL(AUTHORIZE)]) {
      expect(isAllowedAuthorizeUrl(value)).toBe(false);
    }
  });
});

describe('help pages', () => {
  it('has an https page for every help topic the window may ask for', () => {
    for (const topic of HELP_TOPICS) {
      expect(isAllowedHelpUrl(HELP_URLS[topic])).toBe(true);
      expect(new URL(HELP_URLS[topic]).protocol).toBe('https:');
    }
  });

  it('allows the listed pages exactly, not their neighbours', () => {
    const page = new URL(HELP_URLS[HELP_TOPICS[0]]);
    expect(isAllowedHelpUrl(`${page.origin}/somewhere-else`)).toBe(false);
    expect(isAllowedHelpUrl(`${page.href}?next=https://evil.example`)).toBe(false);
    expect(isAllowedHelpUrl(`http://${page.host}${page.pathname}`)).toBe(false);
  });
});

function links(issuers: string[] = []) {
  const opened: string[] = [];
  const log: string[] = [];
  const l = createExternalLinks({
    openExternal: async (url) => {
      opened.push(url);
    },
    issuerOrigins: () => issuers,
    log: (line) => log.push(line),
  });
  return { l, opened, log, issuers };
}

describe('the openers', () => {
  it('opens an allowed sign-in page and refuses anything else without calling openExternal', async () => {
    const t = links();
    await t.l.openAuthorizeUrl(AUTHORIZE);
    expect(t.opened).toEqual([AUTHORIZE]);
    for (const url of REFUSED) {
      await expect(t.l.openAuthorizeUrl(url)).rejects.toBeInstanceOf(RefusedLinkError);
    }
    expect(t.opened).toEqual([AUTHORIZE]);
  });

  it('reads the issuers at each call (an app added later, the demo’s sandbox)', async () => {
    const t = links();
    const url = `${SANDBOX}/connect/authorize?state=s`;
    await expect(t.l.openAuthorizeUrl(url)).rejects.toThrow(/neither Xero's sign-in page nor the sign-in page of one of your apps/);
    t.issuers.push(SANDBOX);
    await t.l.openAuthorizeUrl(url);
    expect(t.opened).toEqual([url]);
  });

  it('openHelpUrl opens help pages only — not even a sign-in page', async () => {
    const t = links();
    const help = HELP_URLS[HELP_TOPICS[0]];
    await t.l.openHelpUrl(help);
    await expect(t.l.openHelpUrl(AUTHORIZE)).rejects.toBeInstanceOf(RefusedLinkError);
    await expect(t.l.openHelpUrl('https://login.xero.com@evil.com/')).rejects.toBeInstanceOf(RefusedLinkError);
    expect(t.opened).toEqual([help]);
  });

  it('openFromWindow opens sign-in and help pages, ignores the rest, and never rejects', async () => {
    const t = links();
    expect(await t.l.openFromWindow(AUTHORIZE)).toBe(true);
    expect(await t.l.openFromWindow(HELP_URLS[HELP_TOPICS[1]])).toBe(true);
    for (const url of REFUSED) expect(await t.l.openFromWindow(url)).toBe(false);
    expect(t.opened).toEqual([AUTHORIZE, HELP_URLS[HELP_TOPICS[1]]]);
  });

  it('logs refusals by origin only, never the path or query', async () => {
    const t = links();
    await t.l.openAuthorizeUrl('https://evil.example/authorize?code=SECRET-CODE&state=abc').catch(() => {});
    expect(t.log.join('\n')).toContain('https://evil.example');
    expect(t.log.join('\n')).not.toContain('SECRET-CODE');
  });

  it('openFromWindow reports false when the system browser fails', async () => {
    const l = createExternalLinks({
      openExternal: async () => {
        throw new Error('no browser');
      },
      issuerOrigins: () => [],
    });
    expect(await l.openFromWindow(AUTHORIZE)).toBe(false);
    await expect(l.openAuthorizeUrl(AUTHORIZE)).rejects.toThrow('no browser');
  });
});

describe("the demo's developer portal (the sandbox's stand-in for Xero's)", () => {
  const PORTAL = `${SANDBOX}${SANDBOX_PORTAL_PATH}`;

  it('opens only while the demo runs, exactly, and is never taken for a sign-in page', async () => {
    const opened: string[] = [];
    let demo: string | null = null;
    const l = createExternalLinks({ openExternal: async (u) => void opened.push(u), issuerOrigins: () => [SANDBOX], demoPortalUrl: () => demo });

    // Not in demo mode: refused although the sandbox is a configured issuer (it shows the apps' secrets).
    await expect(l.openHelpUrl(PORTAL)).rejects.toBeInstanceOf(RefusedLinkError);
    expect(await l.openFromWindow(PORTAL)).toBe(false);
    await expect(l.openAuthorizeUrl(PORTAL)).rejects.toBeInstanceOf(RefusedLinkError);
    expect(isAllowedAuthorizeUrl(`${PORTAL}/`, [SANDBOX])).toBe(false);
    expect(opened).toEqual([]);

    demo = PORTAL;
    await l.openHelpUrl(PORTAL);
    expect(await l.openFromWindow(PORTAL)).toBe(true);
    for (const near of [`${PORTAL}?reveal=ABC`, `http://127.0.0.1:4418${SANDBOX_PORTAL_PATH}`, `${SANDBOX}/developer-portalx`]) {
      await expect(l.openHelpUrl(near), near).rejects.toBeInstanceOf(RefusedLinkError);
    }
    // Still no sign-in page, even in the demo.
    await expect(l.openAuthorizeUrl(PORTAL)).rejects.toBeInstanceOf(RefusedLinkError);
    expect(opened).toEqual([PORTAL, PORTAL]);
    expect(isAllowedDemoPortalUrl(PORTAL, null)).toBe(false);
  });
});
