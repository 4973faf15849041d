import { useState } from 'react';
import { appName, staffName, type ConnectionView, type GrantView, type SnapshotIndex } from '../../state/derive.js';
import { notify, runCheck } from '../../state/store.js';
import { Icon } from '../../ui/Icon.js';
import { HealthBadge } from '../../ui/Status.js';
import { day } from '../../ui/format.js';
import { CAUSE_WORDS, plural } from '../../ui/words.js';

/**
 * Xero ends a sign-in nobody used for 60 days (seasonal clients: the annual-accounts-only organisation). Each
 * sign-in close to that gets a card of its own: the date it ends, how many days that is, the clients it covers
 * by name, and the fix that works while it still does (a refresh, which starts Xero's 60 days again).
 */

export interface ExpiringGroup {
  grant: GrantView;
  connections: ConnectionView[];
}

/** Expiring connections by the sign-in behind them, soonest first. */
export function expiringGroups(index: SnapshotIndex, connections: readonly ConnectionView[]): ExpiringGroup[] {
  const byGrant = new Map<string, ExpiringGroup>();
  for (const c of connections) {
    if (c.health !== 'expiring') continue;
    const grant = index.grantsById.get(c.grantId);
    if (!grant) continue;
    const g = byGrant.get(grant.id) ?? { grant, connections: [] };
    g.connections.push(c);
    byGrant.set(grant.id, g);
  }
  return [...byGrant.values()].sort((a, b) => a.grant.daysLeft - b.grant.daysLeft || a.grant.refreshTokenExpiresAt.localeCompare(b.grant.refreshTokenExpiresAt));
}

export function ExpiringCard({ group, index }: { group: ExpiringGroup; index: SnapshotIndex }) {
  const { grant, connections } = group;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const app = appName(index, grant.appId);
  const who = staffName(index, grant.staffId);
  const orgs = [...new Set(connections.map((c) => c.orgName))].sort((a, b) => a.localeCompare(b));
  const ends = day(grant.refreshTokenExpiresAt);
  const headingId = `expiring-${grant.id}`;
  // Past Xero's 60 days the sign-in has most likely ended already; only the next refresh can say for sure.
  const overdue = grant.cause === 'refresh-token-expired' || grant.daysLeft <= 0;
  const heading = overdue
    ? `${app} through ${who}: ${plural(orgs.length, 'organisation')} probably stopped working on ${ends}`
    : `${app} through ${who}: ${plural(orgs.length, 'organisation')} stop working on ${ends}, in ${plural(grant.daysLeft, 'day')}`;
  const why = overdue
    ? 'Nobody used this sign-in for 60 days, so Xero has most likely ended it. Check it now: if Xero refuses it, reconnect it.'
    : grant.cause
      ? `Xero ends a sign-in nobody uses for 60 days. Relink could not refresh this one lately (${CAUSE_WORDS[grant.cause].toLowerCase()}); refreshing it now starts Xero's 60 days again.`
      : "Xero ends a sign-in nobody uses for 60 days. Refreshing it now starts Xero's 60 days again; Relink does this on its own while it runs.";

  const refresh = async () => {
    if (busy) return;
    setBusy(true);
    setError(null);
    const r = await runCheck({ appId: grant.appId, staffId: grant.staffId });
    setBusy(false);
    if (!r.ok) return setError(r.error.message);
    const s = r.value;
    if (s.refreshed > 0) notify(`Refreshed. ${app} through ${who} keeps working for ${plural(orgs.length, 'organisation')}; Xero's 60 days start again today.`);
    else if (s.revoked > 0) notify(`Xero refused ${app} through ${who}: it had already ended. Reconnect it from the organisations that need it.`, 'bad');
    else if (s.transient > 0) notify(`Relink could not reach Xero to refresh ${app} through ${who}; it tries again on its own.`, 'warn');
    else notify(`Nothing was refreshed: ${app} through ${who} was not checked.`, 'warn');
  };

  return (
    <li className="incident card expiring-card">
      <div className="incident-top">
        <HealthBadge health="expiring" />
        <span className="muted">{overdue ? `Ended ${ends}` : `Ends ${ends}`}</span>
      </div>
      <h3 id={headingId} className="incident-summary">
        {heading}
      </h3>
      <p className="incident-fix">{why}</p>
      <p className="expiring-orgs">
        <span className="report-label">{orgs.length === 1 ? 'Client: ' : 'Clients: '}</span>
        {orgs.join(', ')}
      </p>
      <div className="incident-actions">
        <button type="button" className="button primary" aria-disabled={busy} aria-describedby={headingId} onClick={() => void refresh()}>
          {busy && <Icon name="spinner" className="spin" />}
          {overdue ? 'Check it now' : 'Refresh now'}
        </button>
      </div>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
    </li>
  );
}
