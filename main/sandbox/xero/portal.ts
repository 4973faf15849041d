import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { SandboxContext } from './context.js';
import { escapeHtml as e, html, readForm, redirect, type SbOutcome, type SbRequest } from '../http/types.js';
import { page } from './identity/pages.js';
import { SANDBOX_PORTAL_PATH } from './portal-path.js';
import type { App } from './world.js';

/**
 * The demo's stand-in for Xero's developer portal (developer.xero.com → My Apps): the sandbox's apps, with
 * their client ids and redirect URIs, and for a web app its current client secret, to reveal and copy, and a
 * button that generates a new one (which, as in Xero, stops the old one at once). Without it the demo's
 * "rotated credentials" incident would be a dead end: its fix is "copy the current secret from the portal",
 * and the real portal knows nothing of the sandbox's apps.
 *
 * It exists only in the sandbox and says so at the top of the page. The secrets it shows are the sandbox's
 * own, which open nothing outside it (the control API hands them out too). Generating a secret is a form
 * POST carrying a token known only to pages this sandbox served, so another site cannot rotate one.
 */

export { SANDBOX_PORTAL_PATH };

const STYLE = `
main { max-width:720px; }
.stand-in { border:1px solid var(--accent); border-radius:8px; padding:10px 14px; background:color-mix(in srgb, var(--accent) 8%, var(--card)); }
section.app { border-top:1px solid var(--line); margin-top:20px; padding-top:4px; }
dl { display:grid; grid-template-columns:max-content 1fr; gap:6px 16px; margin:8px 0; }
dt { color:var(--muted); } dd { margin:0; overflow-wrap:anywhere; }
dd ul { margin:0; padding-left:18px; }
.secret { display:flex; gap:8px; align-items:center; flex-wrap:wrap; }
.secret input { font:13px ui-monospace, monospace; width:26em; max-width:100%; padding:6px; border:1px solid var(--line); border-radius:6px; background:var(--bg); color:var(--ink); }
form.inline { display:inline; margin:0; }
.notice { border-left:3px solid var(--accent); padding:4px 10px; }
a { color:var(--accent); }
`;

/** Copy buttons: the clipboard when the browser allows it, else the text selected for Ctrl+C. */
const COPY_SCRIPT = `
for (const b of document.querySelectorAll('button[data-copy]')) {
  b.addEventListener('click', async () => {
    const input = document.getElementById(b.dataset.copy);
    const said = document.getElementById(b.dataset.copy + '-said');
    try { await navigator.clipboard.writeText(input.value); said.textContent = 'Copied.'; }
    catch { input.focus(); input.select(); said.textContent = 'Selected: press Ctrl+C (or Cmd+C) to copy.'; }
  });
}`;

function appSection(ctx: SandboxContext, app: App, token: string, revealed: boolean, rotated: boolean): string {
  const id = `app-${app.clientId}`;
  const creator = app.createdBy ? ctx.world.users.get(app.createdBy) : undefined;
  const here = `${SANDBOX_PORTAL_PATH}`;
  let secret = '';
  if (app.type === 'web') {
    const shown = revealed && app.clientSecret
      ? `<div class="secret"><input id="${id}-secret" readonly value="${e(app.clientSecret)}" aria-label="Client secret of ${e(app.name)}" spellcheck="false">
<button type="button" data-copy="${id}-secret" aria-label="Copy the secret of ${e(app.name)}">Copy</button> <a href="${here}#${id}">Hide</a></div>
<p class="muted" id="${id}-secret-said" role="status" aria-live="polite"></p>`
      : `<div class="secret"><span aria-label="hidden">••••••••••••</span> <a href="${here}?reveal=${encodeURIComponent(app.clientId)}#${id}" aria-label="Show secret of ${e(app.name)}">Show secret</a></div>`;
    secret = `<dt>Client secret</dt><dd>${shown}
${rotated ? `<p class="notice" role="status">New secret generated. The old one no longer works: paste this one into Relink under Apps → ${e(app.name)} → Enter the new client secret.</p>` : ''}
<form class="inline" method="post" action="${here}/apps/${encodeURIComponent(app.clientId)}/secret">
<input type="hidden" name="token" value="${e(token)}"><button type="submit" aria-label="Generate a new secret for ${e(app.name)}">Generate a new secret</button></form>
<p class="muted">The current secret stops working at once, so every connection of this app stops until the new secret is entered wherever the app runs.</p></dd>`;
  }
  return `<section class="app" id="${id}" aria-labelledby="${id}-name">
<h2 id="${id}-name">${e(app.name)}</h2>
<dl>
<dt>Integration type</dt><dd>${app.type === 'web' ? 'Web app' : 'Mobile or desktop app (Auth code with PKCE)'}</dd>
<dt>Client id</dt><dd><code>${e(app.clientId)}</code></dd>
${secret}
<dt>Redirect URIs</dt><dd><ul>${app.redirectUris.map((u) => `<li><code>${e(u)}</code></li>`).join('')}</ul></dd>
<dt>Several organisations per approval</dt><dd>${app.multiOrgConsent ? 'Yes' : 'No'}</dd>
<dt>Created by</dt><dd>${creator ? `${e(`${creator.givenName} ${creator.familyName}`)} (${e(creator.email)})` : 'Not recorded'}</dd>
</dl>
${app.type === 'pkce' ? '<p class="muted">No client secret: this app signs in with PKCE.</p>' : ''}
</section>`;
}

/** `GET /developer-portal[?reveal=CLIENT_ID][&rotated=1]`. */
export function portalPage(ctx: SandboxContext, req: SbRequest, token: string): SbOutcome {
  const reveal = req.url.searchParams.get('reveal');
  const rotated = req.url.searchParams.get('rotated') === '1';
  const apps = [...ctx.world.apps.values()].sort((a, b) => a.name.localeCompare(b.name));
  const body = `<p class="stand-in" role="note"><strong>The demo's stand-in for Xero's developer portal.</strong> Relink's built-in
sandbox serves this page so the demo can be tried from start to finish; it exists only in the sandbox and lists only
the sandbox's made-up apps. Your firm's real apps are in Xero's own developer portal (developer.xero.com → My Apps).</p>
<h1>My Apps</h1>
${apps.length ? apps.map((a) => appSection(ctx, a, token, a.clientId === reveal, rotated && a.clientId === reveal)).join('\n') : '<p>The sandbox has no apps.</p>'}`;
  const nonce = randomBytes(16).toString('base64');
  return html(200, page('Developer portal (demo stand-in)', body, { tagline: "Demo stand-in for Xero's developer portal", style: STYLE, script: { nonce, code: COPY_SCRIPT } }), {
    'content-security-policy': `default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-${nonce}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
  });
}

/** `POST /developer-portal/apps/CLIENT_ID/secret`: a new secret, as Xero's "Generate a secret" does. */
export function rotateFromPortal(ctx: SandboxContext, req: SbRequest, clientId: string, token: string): SbOutcome {
  const given = Buffer.from(readForm(req)?.get('token') ?? '');
  const expected = Buffer.from(token);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return html(403, page('Refused', '<h1>Refused</h1><p role="alert">This request did not come from the sandbox\'s own developer portal page, so nothing was changed. Open the portal again and use its button.</p>'));
  }
  const app = ctx.world.apps.get(clientId);
  if (!app || app.type !== 'web') {
    return html(404, page('No such app', '<h1>No such web app</h1><p role="alert">The sandbox has no web app with that client id, so no secret was generated.</p>'));
  }
  ctx.world.rotateSecret(clientId);
  return redirect(`${SANDBOX_PORTAL_PATH}?reveal=${encodeURIComponent(clientId)}&rotated=1#app-${encodeURIComponent(clientId)}`, 303);
}
