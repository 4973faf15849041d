import { randomBytes } from 'node:crypto';
import type { App } from '../../../shared/domain.js';
import type { Clock } from '../../core/clock.js';
import { DiscoveryError, type ProviderClient } from '../../oauth/provider-client.js';
import type { AppCheckOutcome } from '../provider.js';
import { XERO_ISSUER } from './endpoints.js';
import { classifyTokenOutcome } from './errors.js';


/**
 * What can be verified about a new app before anyone signs in, and what cannot:
 *
 * - verified: the client id has Xero's shape (32 hex characters; checked by the caller); the issuer's
 *   discovery document is reachable and valid (openid-client checks it names the same issuer); and Xero's
 *   token endpoint accepts the client. For that Relink sends one refresh with a made-up refresh token, which
 *   cannot succeed and touches no real sign-in. Xero's identity server authenticates the client before it
 *   looks at the token (IdentityServer's order), so a wrong client id or secret answers `invalid_client`
 *   and a right one `invalid_grant`. A web app's secret is checked this way; a PKCE app's client id too
 *   (unknown id: `invalid_client`; a web app's id sent without its secret: `invalid_client` as well).
 * - not verifiable until the first sign-in: the redirect URIs (Xero checks them against the app's list only
 *   on its authorize page), the scopes the app may ask for, and whoever signs in having access to anything.
 *   Whether the app allows multi-organisation consent and its connection cap Xero never tells Relink: they
 *   stay as entered.
 *
 * Unreachable (offline, DNS, refused, timeout) refuses the add with "Relink can't reach Xero", never a bare
 * ENOTFOUND; an answer that is neither of the two codes is reported as not confirmed rather than guessed.
 */
export async function checkApp(app: App, client: Pick<ProviderClient, 'prepare' | 'refresh'>, clock: Clock): Promise<AppCheckOutcome> {
  const host = new URL(app.issuer).host;
  const where = app.issuer === XERO_ISSUER ? `Xero (${host})` : `Xero's sign-in server at ${host}`;
  const unreachable = (code: string | null): AppCheckOutcome => ({
    ok: false,
    code: 'unreachable',
    message: `Relink can't reach ${where}, so it could not check ${app.name}. Nothing was saved: check this computer's internet connection (and any proxy or VPN), then add the app again.${code ? ` (${code})` : ''}`,
  });
  try {
    await client.prepare();
  } catch (err) {
    // Not answered for a network reason: unreachable. Not sent because the settings pointed somewhere else
    // (provider-client.ts pins every endpoint): the settings are wrong, which is the case below.
    if (err instanceof DiscoveryError && err.stage !== 'answered' && err.networkError !== null) return unreachable(err.networkError);
    const detail = err instanceof DiscoveryError && err.response ? `HTTP ${err.response.status}` : (err as Error).message.replace(/^Could not read the sign-in settings of [^:]+: /, '');
    return {
      ok: false,
      code: 'rejected',
      message: `${host} answered, but not with valid Xero sign-in settings, so Relink cannot sign in there. Nothing was saved: check the sign-in server's address (leave it empty for Xero). (${detail})`,
    };
  }
  const verified = [
    "The client id has Xero's form (32 letters and digits).",
    `Xero's sign-in server${app.issuer === XERO_ISSUER ? '' : ` at ${host}`} answered with valid sign-in settings.`,
  ];
  const probe = await client.refresh(`relink-check-${randomBytes(24).toString('base64url')}`);
  const failure = probe.ok ? null : classifyTokenOutcome(probe, clock.now(), 'refresh');
  let notConfirmed: string | null = null;
  switch (failure?.kind) {
    case 'invalid-grant':
      verified.push(app.authType === 'web' ? 'Xero accepts the client id and secret.' : 'Xero knows the client id, as an app without a secret (PKCE).');
      break;
    case 'invalid-client':
    case 'unauthorized-client':
      return {
        ok: false,
        code: 'rejected',
        message:
          app.authType === 'web'
          ? `Xero does not accept this client id and secret (${failure.detail}). Nothing was saved: copy both again from Xero's developer portal (My Apps → your app → Configuration; a secret shown once can be generated again there).`
          : `Xero does not accept this client id without a secret (${failure.detail}). Nothing was saved: copy the client id again from Xero's developer portal (My Apps → your app → Configuration), or, if the app has a client secret, add it as a web app.`,
      };
    case 'network':
    case 'timeout':
      return unreachable(/\(([A-Z_]+)\)/.exec(failure.detail)?.[1] ?? failure.detail);
    default:
      notConfirmed = `Whether Xero accepts ${app.authType === 'web' ? 'the client id and secret' : 'the client id'}: Xero's answer to Relink's check did not say (${failure?.detail ?? 'an unexpected success'}).`;
  }
  const ports = app.redirectPorts.map((p) => `http://127.0.0.1:${p}/callback`).join(', ');
  return {
    ok: true,
    checks: {
      verified,
      atFirstSignIn: [
      ...(notConfirmed ? [notConfirmed] : []),
      `That the redirect URIs ${ports} are registered for the app exactly: Xero checks them only when someone signs in.`,
      'That Xero lets the app ask for the permissions (scopes) it asks for.',
      ],
    },
  };
}
