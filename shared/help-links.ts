import type { HelpTopic } from './api.js';

/**
 * The only pages Relink's window may open in the system browser besides Xero's sign-in page. The window asks
 * for a topic; the main process maps it here, so no URL the renderer makes up is ever opened.
 */
export const HELP_URLS: Readonly<Record<HelpTopic, string>> = {
  /** My Apps: where an app's client id, secret and redirect URIs are. */
  'xero-developer-portal': 'https://developer.xero.com/app/manage',
  /** How a desktop app signs in with PKCE and registers its redirect URIs. */
  'xero-pkce-setup': 'https://developer.xero.com/documentation/oauth2/pkce-flow',
  'xero-scopes': 'https://developer.xero.com/documentation/oauth2/scopes',
  /** Connection caps per tier and API rate limits. */
  'xero-limits': 'https://developer.xero.com/documentation/oauth2/limits',
  'xero-oauth-troubleshooting': 'https://developer.xero.com/documentation/oauth2/troubleshooting',
};
