import type { Cause, Fix } from '../../shared/domain.js';
import { DEFAULT_PROVIDER } from '../providers/registry.js';
import type { ProviderFacts } from './provider-facts.js';

/**
 * The product's words for each cause: what most likely happened and what to do, written for an advisor,
 * not a developer. `who`, `app` and `org` are names already resolved by the caller.
 *
 * The provider's nouns come from its `terms`, and sentences that only hold for some providers' rules (one
 * approval bringing back every organisation, an app dying with its creator's login, a lifetime that renews
 * with use) from its `policy`. Without a provider, the default one's words (what a new app gets).
 */
export interface Wording {
  who?: string;
  app?: string;
  org?: string;
  orgCount?: number;
  appCount?: number;
  days?: number;
  minutes?: number;
}

type Speaker = Pick<ProviderFacts, 'terms' | 'policy'>;

const orgs = (n = 0) => `${n} organisation${n === 1 ? '' : 's'}`;
const apps = (n = 0) => `${n} app${n === 1 ? '' : 's'}`;
/** A term opening a sentence ("Its status page says more" from "its status page"). */
const opening = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

export function summaryFor(cause: Cause, w: Wording, provider: Speaker = DEFAULT_PROVIDER): string {
  const who = w.who ?? 'A staff member';
  const { terms, policy } = provider;
  switch (cause) {
    case 'password-changed':
      return `${who}'s ${terms.name} password probably changed — ${apps(w.appCount)}, ${orgs(w.orgCount)}`;
    case 'staff-removed':
      return `${who} no longer has access to ${orgs(w.orgCount)} in ${terms.name}`;
    case 'app-disconnected-in-org':
      return `${w.app ?? 'An app'} was disconnected in ${w.org ?? orgs(w.orgCount)}`;
    case 'refresh-token-expired': {
      const after = policy.refreshTokenRolling ? `after ${policy.refreshTokenLifetimeDays} days without use` : `at the end of its ${policy.refreshTokenLifetimeDays} days`;
      return `${who}'s connection to ${w.app ?? 'an app'} expired ${after} — ${orgs(w.orgCount)}`;
    }
    case 'token-replaced':
      return `A newer authorisation took over ${w.org ?? orgs(w.orgCount)} for ${w.app ?? 'an app'}`;
    case 'credentials-rotated':
      return `${terms.name} no longer accepts ${w.app ?? 'an app'}'s credentials — ${orgs(w.orgCount)}`;
    case 'app-deleted':
      return `${w.app ?? 'An app'} was probably deleted in ${terms.developerPortal} — ${orgs(w.orgCount)}`;
    case 'role-restricted':
      return `${who}'s role in ${w.org ?? orgs(w.orgCount)} is too narrow for ${w.app ?? 'an app'}`;
    case 'scope-missing':
      return `${w.app ?? 'An app'} is missing a permission in ${w.org ?? orgs(w.orgCount)}`;
    case 'clock-skew':
      return `This computer's clock is about ${w.minutes ?? '?'} minutes off ${terms.name}'s`;
    case 'rate-limited':
      return `${terms.name} is limiting requests for ${w.app ?? 'an app'}; Relink is waiting`;
    case 'provider-outage':
      return `${terms.name} is not answering normally; Relink keeps retrying`;
    case 'network':
      return `Relink cannot reach ${terms.name}; it keeps retrying`;
    case 'keychain-unavailable':
      return "Relink cannot open this computer's keychain, where the connections' keys are kept";
    case 'key-missing':
      return `The key for ${who}'s connection to ${w.app ?? 'an app'} is gone from this computer's keychain — ${orgs(w.orgCount)}`;
    case 'grant-revoked':
      return `${who}'s connection to ${w.app ?? 'an app'} was revoked — ${orgs(w.orgCount)}`;
  }
}

export function fixFor(cause: Cause, w: Wording, provider: Speaker = DEFAULT_PROVIDER): Fix {
  const who = w.who ?? 'the staff member';
  const { terms, policy } = provider;
  switch (cause) {
    case 'password-changed': {
      const approvals =
        policy.consent === 'many-organisations' ? 'One approval per app brings back every organisation it covered.' : 'Each organisation needs its own approval.';
      return {
        action: 'reconnect',
        text: `Reconnect as ${who}: they log in to ${terms.name} with their new password and approve again. ${approvals}`,
      };
    }
    case 'staff-removed':
      return {
        action: 'reconnect',
        text: `Reconnect these organisations as another advisor who still has access, or ask each client's ${terms.name} admin to restore ${who}'s access.`,
      };
    case 'app-disconnected-in-org':
      return {
        action: 'reconnect-in-org',
        text: `Someone removed ${w.app ?? 'the app'} under ${terms.connectedAppsPlace} in ${w.org ?? 'the organisation'}. Reconnect it and tick that organisation.`,
      };
    case 'refresh-token-expired':
      return {
        action: 'reconnect',
        text: policy.refreshTokenRolling
          ? `${terms.name} ends connections that are not used for ${policy.refreshTokenLifetimeDays} days. Reconnect once; Relink then keeps it alive by refreshing it at least daily.`
          : `${terms.name} ends connections ${policy.refreshTokenLifetimeDays} days after they are approved, however often they are used. Reconnect to start a new period.`,
      };
    case 'token-replaced':
      return {
        action: 'none',
        text: 'Another authorisation for the same app now holds this organisation, so this one no longer reaches it. Nothing to do if the newer connection is healthy; otherwise reconnect.',
      };
    case 'credentials-rotated':
      return {
        action: 'update-app-credentials',
        text: `Copy the current client secret for ${w.app ?? 'the app'} from ${terms.developerPortal} into Relink. Existing connections work again as soon as it matches.`,
      };
    case 'app-deleted': {
      const why = policy.appDeletedWithCreator ? ` (deleting its creator's ${terms.login} deletes it)` : '';
      return {
        action: 'update-app-credentials',
        text: `Check ${w.app ?? 'the app'} in ${terms.developerPortal}. If it is gone${why}, create it again, enter the new client id in Relink and reconnect.`,
      };
    }
    case 'role-restricted':
      return {
        action: 'reconnect-in-org',
        text: `Ask ${w.org ?? 'the client'}'s ${terms.name} admin to give ${who} ${terms.approverRoles}, then reconnect — or reconnect as someone who has it.`,
      };
    case 'scope-missing':
      return {
        action: 'reconnect',
        text: 'Reconnect and approve the permissions Relink asks for; the earlier approval did not include them.',
      };
    case 'clock-skew':
      return {
        action: 'check-clock',
        text: "Turn on automatic date and time in this computer's settings, then check again.",
      };
    case 'rate-limited':
      return { action: 'wait', text: `Nothing to do: Relink waits as long as ${terms.name} asks and then carries on.` };
    case 'provider-outage':
      return { action: 'wait', text: `Nothing to do: connections are fine and Relink retries on its own. ${opening(terms.statusPage)} says more.` };
    case 'network':
      return { action: 'wait', text: "Check this computer's internet connection or proxy; Relink retries on its own and nothing is lost." };
    case 'keychain-unavailable':
      return {
        action: 'unlock-keychain',
        text: "Unlock the keychain (GNOME Keyring, macOS Keychain or Windows Credential Manager) and check again. Nothing was deleted; Relink will not store keys anywhere less safe.",
      };
    case 'key-missing':
      return {
        action: 'reconnect',
        text: `The keychain is unlocked, but the key Relink kept for this connection was removed from it (a keychain clean-up or reset does that). Reconnect as ${who} to store a new one; nothing at ${terms.name} changed and no other connection is affected.`,
      };
    case 'grant-revoked':
      return { action: 'reconnect', text: `Reconnect as ${who} to restore access.` };
  }
}
