import { useId, useMemo, useState } from 'react';
import { BROKEN_HEALTH } from '../../../../shared/domain.js';
import { appName, staffName, type SnapshotIndex } from '../../state/derive.js';
import { href } from '../../state/router.js';
import { ReconnectControl } from '../../operations/ReconnectControl.js';
import { Icon } from '../../ui/Icon.js';
import { consentsSentence, plural } from '../../ui/words.js';

/**
 * What the advisor can do at once with the organisations ticked in the grid. Only what really works is offered:
 * reconnecting, grouped into the fewest approvals Xero needs (one per app and person for an app that connects
 * several organisations per approval, otherwise one per organisation), through the same connect request as every
 * other Reconnect button. Connections a new approval cannot fix (Xero rejects the app itself, the keychain is
 * locked, the person's role in Xero is too narrow) are named with where their fix is, never offered as a reconnect.
 */

export interface BulkTarget {
  key: string;
  appId: string;
  /** Who must approve: the person who connected it, or null for "another advisor" (they lost access). */
  staffId: string | null;
  /** One organisation per approval (the app connects one at a time), else null. */
  tenantId: string | null;
  tenantIds: string[];
  orgNames: string[];
  label: string;
  ariaLabel: string;
  app: string;
  who: string | null;
}

export interface BulkPlan {
  targets: BulkTarget[];
  /** Connections that reconnecting cannot fix, by app: the app's own problem comes first. */
  appRejected: Array<{ appId: string; app: string; orgNames: string[] }>;
  /** Connections whose fix is elsewhere (keychain, the role in Xero): how many, and what main says to do. */
  elsewhere: Array<{ org: string; app: string; fix: string }>;
  /** Ticked organisations with nothing broken. */
  fine: number;
  connections: number;
}

export function bulkPlan(index: SnapshotIndex, orgIds: Iterable<string>): BulkPlan {
  const groups = new Map<string, BulkTarget>();
  const rejected = new Map<string, { appId: string; app: string; orgNames: string[] }>();
  const elsewhere: BulkPlan['elsewhere'] = [];
  let fine = 0;
  let connections = 0;
  for (const orgId of orgIds) {
    const row = index.rowsById.get(orgId);
    if (!row) continue;
    const broken = row.all.filter((c) => BROKEN_HEALTH.has(c.health));
    if (broken.length === 0) fine += 1;
    for (const c of broken) {
      const app = index.appsById.get(c.appId);
      if (!app) continue;
      if (c.health === 'app-broken' || c.fixAction === 'update-app-credentials') {
        const r = rejected.get(app.id) ?? { appId: app.id, app: app.name, orgNames: [] };
        if (!r.orgNames.includes(row.name)) r.orgNames.push(row.name);
        rejected.set(app.id, r);
        continue;
      }
      if (c.fixAction !== 'reconnect' && c.fixAction !== 'reconnect-in-org') {
        elsewhere.push({ org: row.name, app: app.name, fix: c.fix ?? 'Open the organisation to see what to do.' });
        continue;
      }
      connections += 1;
      // Someone who lost access to the organisation cannot approve it again: another advisor must.
      const approver = c.cause === 'staff-removed' ? null : c.staffId;
      const key = app.multiOrgConsent ? `${app.id}\u0000${approver ?? ''}` : `${app.id}\u0000${approver ?? ''}\u0000${row.id}`;
      let g = groups.get(key);
      if (!g) {
        const who = approver ? staffName(index, approver) : null;
        g = {
          key,
          appId: app.id,
          staffId: approver,
          tenantId: app.multiOrgConsent ? null : row.id,
          tenantIds: [],
          orgNames: [],
          label: '',
          ariaLabel: '',
          app: app.name,
          who,
        };
        groups.set(key, g);
      }
      if (!g.tenantIds.includes(row.id)) {
        g.tenantIds.push(row.id);
        g.orgNames.push(row.name);
      }
    }
  }
  const targets = [...groups.values()].map((g) => {
    const orgs = g.tenantId ? g.orgNames[0]! : plural(g.tenantIds.length, 'organisation');
    const as = g.who ? ` as ${g.who}` : ' as another advisor';
    const label = `Reconnect ${appName(index, g.appId)}${as}: ${orgs}`;
    return { ...g, label, ariaLabel: label };
  });
  return { targets, appRejected: [...rejected.values()], elsewhere, fine, connections };
}

export function BulkActions({
  index,
  selected,
  hidden,
  onClear,
}: {
  index: SnapshotIndex;
  selected: ReadonlySet<string>;
  /** How many ticked organisations the filters hide. */
  hidden: number;
  onClear: () => void;
}) {
  const [open, setOpen] = useState(false);
  const panelId = useId();
  const plan = useMemo(() => bulkPlan(index, selected), [index, selected]);
  const n = selected.size;
  const approvals = plan.targets.length;

  return (
    <section className="bulk-bar" aria-label="Ticked organisations">
      <div className="bulk-bar-row">
        <p className="bulk-count">
          <strong>{plural(n, 'organisation')} ticked</strong>
          {hidden > 0 && <span className="muted"> ({hidden} hidden by the filters)</span>}
        </p>
        {approvals > 0 ? (
          <button type="button" className="button primary small" aria-expanded={open} aria-controls={panelId} onClick={() => setOpen((o) => !o)}>
            <Icon name={open ? 'chevron-down' : 'chevron-right'} />
            Reconnect what is broken ({plural(approvals, 'approval')})
          </button>
        ) : (
          <span className="muted">{plan.appRejected.length + plan.elsewhere.length > 0 ? 'Reconnecting would not fix these.' : 'Nothing to reconnect: they all work.'}</span>
        )}
        <button type="button" className="button subtle small" onClick={onClear}>
          Untick all
        </button>
      </div>
      {(open || approvals === 0) && (plan.targets.length > 0 || plan.appRejected.length > 0 || plan.elsewhere.length > 0) && (
        <div className="bulk-panel" id={panelId}>
          {approvals > 0 && (
            <>
              <p className="bulk-lead">
                {consentsSentence(approvals, new Set(plan.targets.flatMap((t) => t.tenantIds)).size)}. Each opens Xero's sign-in in your browser: do them
                one at a time.
                {plan.fine > 0 && ` ${plural(plan.fine, 'ticked organisation')} ${plan.fine === 1 ? 'works' : 'work'} and ${plan.fine === 1 ? 'needs' : 'need'} nothing.`}
              </p>
              <ul className="plain-list bulk-targets">
                {plan.targets.map((t) => (
                  <li key={t.key}>
                    <ReconnectControl
                      target={{ appId: t.appId, staffId: t.staffId, tenantId: t.tenantId, tenantIds: t.tenantIds }}
                      label={t.label}
                      ariaLabel={t.ariaLabel}
                      appName={t.app}
                      primary={false}
                      {...(t.who ? { who: t.who } : {})}
                    />
                    {!t.tenantId && <p className="cell-sub">{t.orgNames.join(', ')}</p>}
                  </li>
                ))}
              </ul>
            </>
          )}
          {plan.appRejected.map((r) => (
            <p key={r.appId} className="bulk-note">
              <Icon name="alert" className="inline-icon tone-bad-icon" /> Xero no longer accepts {r.app}, so reconnecting{' '}
              {r.orgNames.length === 1 ? r.orgNames[0] : plural(r.orgNames.length, 'organisation')} would fail. <a href={href('apps')}>Fix {r.app} in Apps</a>; its
              connections work again once it does.
            </p>
          ))}
          {plan.elsewhere.length > 0 && (
            <div className="bulk-note">
              <p>Reconnecting does not fix these; do this instead:</p>
              <ul className="bullets">
                {plan.elsewhere.map((e, i) => (
                  <li key={i}>
                    {e.app} for {e.org}: {e.fix}
                  </li>
                ))}
              </ul>
            </div>
          )}
        </div>
      )}
    </section>
  );
}
