import { escapeHtml as e } from '../../http/types.js';
import type { App, Org, Role, User } from '../world.js';
import { SANDBOX_PORTAL_PATH } from '../portal-path.js';

/**
 * The sandbox's login, consent and error pages. Plain server-rendered forms with no script, so people can use
 * them for training and end-to-end tests can drive them like Xero's real pages. Every value shown is escaped.
 */
const STYLE = `
:root { color-scheme: light dark; --ink:#1d2b36; --muted:#5b6b78; --line:#d5dde3; --bg:#f4f6f8; --card:#fff; --accent:#0b6fb8; --danger:#a4262c; }
@media (prefers-color-scheme: dark) { :root { --ink:#e6edf2; --muted:#a3b1bc; --line:#33424e; --bg:#121a21; --card:#1b252e; --accent:#5fb0f0; --danger:#ff8a8f; } }
* { box-sizing: border-box; }
body { margin:0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--ink); background:var(--bg); }
header { padding:14px 24px; border-bottom:1px solid var(--line); background:var(--card); display:flex; gap:12px; align-items:baseline; }
header strong { font-size:17px; } header span { color:var(--muted); font-size:13px; }
main { max-width:560px; margin:32px auto; padding:24px 28px; background:var(--card); border:1px solid var(--line); border-radius:10px; }
h1 { font-size:21px; margin:0 0 12px; } h2 { font-size:15px; margin:20px 0 8px; }
p { margin:8px 0; } .muted { color:var(--muted); font-size:13px; }
ul.scopes { margin:6px 0 0; padding-left:20px; }
fieldset { border:1px solid var(--line); border-radius:8px; padding:8px 12px; margin:8px 0 0; }
legend { padding:0 4px; font-weight:600; }
label.org { display:flex; gap:10px; align-items:center; padding:6px 2px; border-bottom:1px solid var(--line); }
label.org:last-child { border-bottom:0; } label.org.disabled { color:var(--muted); }
.badge { margin-left:auto; font-size:12px; color:var(--muted); border:1px solid var(--line); border-radius:999px; padding:0 8px; }
select, input[type=email] { width:100%; padding:8px; font:inherit; border:1px solid var(--line); border-radius:6px; background:var(--card); color:var(--ink); }
.actions { display:flex; gap:10px; justify-content:flex-end; margin-top:20px; }
button { font:inherit; padding:8px 16px; border-radius:6px; border:1px solid var(--line); background:var(--card); color:var(--ink); cursor:pointer; }
button.primary { background:var(--accent); border-color:var(--accent); color:#fff; }
.error { color:var(--danger); font-weight:600; } code { font-size:13px; }
`;

/**
 * One sandbox page. `opts.tagline` replaces the header's description (the developer portal says whose
 * stand-in it is); `opts.style` adds rules; `opts.script` is inline script allowed by its nonce alone.
 */
export function page(title: string, body: string, opts: { tagline?: string; style?: string; script?: { nonce: string; code: string } } = {}): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(title)} · Xero sandbox</title><style>${STYLE}${opts.style ?? ''}</style></head><body>
<header><strong>Xero sandbox</strong><span>${e(opts.tagline ?? 'A local stand-in for Xero, run by Relink')}</span></header>
<main>${body}</main>${opts.script ? `<script nonce="${e(opts.script.nonce)}">${opts.script.code}</script>` : ''}</body></html>`;
}

/** Xero shows its own error page, and does not redirect, when the client or redirect URI is wrong. */
export function errorPage(error: string, description: string): string {
  return page(
    'Error',
    `<h1>Sorry, something went wrong</h1>
<p class="error" role="alert">Error: ${e(error)} : ${e(description)}</p>
<p class="muted">The app that sent you here is misconfigured. Nothing was shared with it. Check its client id and
redirect URI in the developer portal, then start again from the app.</p>`,
  );
}

export function connectionLimitPage(app: App, cap: number): string {
  return page(
    'Connection limit reached',
    `<h1>Connection limit reached</h1>
<p role="alert">${e(app.name)} can connect at most ${cap} organisation${cap === 1 ? '' : 's'} on its pricing tier, and
connecting the organisations you chose would go over that limit.</p>
<p class="muted">Disconnect an organisation from this app, or move the app to a higher tier in the developer portal,
then try again.</p>`,
  );
}

export function loginPage(handle: string, app: App, users: User[], message?: string): string {
  const options = users
    .slice()
    .sort((a, b) => a.email.localeCompare(b.email))
    .map((u) => `<option value="${e(u.email)}">${e(`${u.givenName} ${u.familyName}`)} (${e(u.email)})</option>`)
    .join('');
  return page(
    'Log in',
    `<h1>Log in to Xero</h1>
<p><strong>${e(app.name)}</strong> wants to connect to your Xero organisations.</p>
${message ? `<p class="error" role="alert">${e(message)}</p>` : ''}
<form method="post" action="/identity/login">
<input type="hidden" name="req" value="${e(handle)}">
<p><label for="email">Log in as</label></p>
<select id="email" name="email" required><option value="">Choose a staff member…</option>${options}</select>
<p class="muted">The sandbox has no passwords: pick who is logging in.</p>
<div class="actions"><button class="primary" type="submit">Log in</button></div>
</form>`,
  );
}

const SCOPE_TEXT: Record<string, string> = {
  openid: 'Know who you are',
  profile: 'See your name',
  email: 'See your email address',
  offline_access: 'Keep access when you are not using the app',
};

function describeScope(scope: string): string {
  if (SCOPE_TEXT[scope]) return SCOPE_TEXT[scope];
  const [area, thing, read] = scope.split('.');
  const what = (thing && thing !== 'read' ? thing : area ?? scope).replace(/([a-z])([A-Z])/g, '$1 $2');
  return `${read === 'read' || thing === 'read' ? 'View' : 'View and manage'} your ${what}`;
}

export interface ConsentChoice {
  org: Org;
  role: Role;
  connected: boolean;
  overCap: boolean;
}

export function consentPage(
  handle: string,
  app: App,
  user: User,
  scopes: string[],
  choices: ConsentChoice[],
  cap: number | null,
  message?: string,
): string {
  const multi = app.multiOrgConsent;
  const rows = choices
    .map(({ org, connected, overCap }) => {
      const disabled = overCap ? ' disabled' : '';
      const badge = connected ? '<span class="badge">Already connected</span>' : overCap ? '<span class="badge">Connection limit reached</span>' : '';
      return `<label class="org${overCap ? ' disabled' : ''}"><input type="${multi ? 'checkbox' : 'radio'}" name="tenantId" value="${e(org.tenantId)}"${disabled}> ${e(org.name)} ${badge}</label>`;
    })
    .join('');
  const capText =
    cap === null ? '' : `<p class="muted">This app's tier allows ${cap.toLocaleString('en')} connected organisation${cap === 1 ? '' : 's'}.</p>`;
  return page(
    'Allow access',
    `<h1>${e(app.name)} wants access to your Xero data</h1>
<p>Logged in as <strong>${e(`${user.givenName} ${user.familyName}`)}</strong> (${e(user.email)}).</p>
<h2>It will be able to</h2>
<ul class="scopes">${scopes.map((s) => `<li>${e(describeScope(s))} <code>${e(s)}</code></li>`).join('')}</ul>
${message ? `<p class="error" role="alert">${e(message)}</p>` : ''}
<form method="post" action="/connect/authorize/consent">
<input type="hidden" name="req" value="${e(handle)}">
<fieldset><legend>${multi ? 'Organisations to connect' : 'Organisation to connect'}</legend>
${rows || '<p class="muted">You have no organisations in Xero.</p>'}
</fieldset>
${multi ? '' : '<p class="muted">This app connects one organisation at a time.</p>'}
${capText}
<div class="actions"><button type="submit" name="decision" value="deny">Cancel</button>
<button class="primary" type="submit" name="decision" value="allow">Allow access</button></div>
</form>`,
  );
}

/** The sandbox's home page, for people exploring it in demo or training. */
export function homePage(origin: string, orgs: number, users: User[], apps: App[]): string {
  return page(
    'Home',
    `<h1>Xero sandbox</h1>
<p>This server behaves like Xero's identity service and API, so Relink can be tried and tested without a Xero
developer account. Point Relink at <code>${e(origin)}</code>.</p>
<h2>${orgs} organisations, ${users.length} staff, ${apps.length} apps</h2>
<ul>${apps.map((a) => `<li>${e(a.name)} <span class="muted">(${a.type === 'pkce' ? 'PKCE' : 'web app'}, client id <code>${e(a.clientId)}</code>)</span></li>`).join('')}</ul>
<p>Its apps' client ids and secrets: <a href="${SANDBOX_PORTAL_PATH}">the developer portal (demo stand-in)</a>.</p>
<p class="muted">Discovery: <code>/.well-known/openid-configuration</code>. Control API: <code>/sandbox/state</code> and
the rest described in Relink's README.</p>`,
  );
}
