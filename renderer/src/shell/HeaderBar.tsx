import type { PassSummaryView } from '../../../shared/api.js';
import { href } from '../state/router.js';
import { runCheck, useRelink, useSnapshot } from '../state/store.js';
import { Icon } from '../ui/Icon.js';
import { Busy, StatusText } from '../ui/Status.js';
import { time, when } from '../ui/format.js';
import { KEYCHAIN_WORDS, plural } from '../ui/words.js';

/** The window's header: where the keys are kept (and whether Relink can reach them) and "Check now". */
export function HeaderBar() {
  const snapshot = useSnapshot();
  const check = useRelink((s) => s.check);
  // The demo without a keychain keeps its sandbox sign-ins in memory: no keychain to call unlocked (issue 10).
  const inMemory = useRelink((s) => s.session?.secretsInMemory ?? false);
  const keychain = inMemory ? { tone: 'info' as const, label: 'Sign-ins in memory (demo)' } : KEYCHAIN_WORDS[snapshot.keychain];

  return (
    <header className="header-bar">
      <div className="header-status">
        <a className="keychain-link" href={href('settings')} title="Where Relink keeps the connections' keys">
          <StatusText tone={keychain.tone} icon={snapshot.keychain === 'available' ? 'key' : 'lock'} text={keychain.label} />
        </a>
        <span className="header-updated" title={when(snapshot.generatedAt)}>
          <span className="header-updated-long">Status as of </span>
          {time(snapshot.generatedAt)}
        </span>
      </div>
      <div className="header-actions">
        <div className="check-result" role="status" aria-live="polite">
          {check.running ? (
            <Busy text={check.scoped ? 'Checking…' : 'Checking every connection…'} />
          ) : check.error ? (
            <StatusText tone="bad" icon="alert" text={check.error} />
          ) : check.summary ? (
            <span className="muted">{describePass(check.summary)}</span>
          ) : null}
        </div>
        <button type="button" className="button primary" aria-disabled={check.running} onClick={() => !check.running && void runCheck()}>
          <Icon name="refresh" className={check.running ? 'spin' : undefined} />
          Check now
        </button>
      </div>
    </header>
  );
}

export function describePass(p: PassSummaryView): string {
  const parts = [`Checked ${plural(p.grants, 'sign-in')}`];
  if (p.refreshed) parts.push(`${p.refreshed} refreshed`);
  if (p.revoked) parts.push(`${p.revoked} refused by Xero`);
  if (p.appRejected) parts.push(`${p.appRejected} with app credentials rejected`);
  if (p.transient) parts.push(`${p.transient} will be retried`);
  return `${parts.join(', ')}.`;
}
