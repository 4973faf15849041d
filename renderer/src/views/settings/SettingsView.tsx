import { useEffect, useState, type FormEvent } from 'react';
import { replaceSettingsInSnapshot, request, runCheck, useRelink, useSnapshot } from '../../state/store.js';
import { StatusText } from '../../ui/Status.js';
import { ViewHeading } from '../../ui/ViewHeading.js';
import { KEYCHAIN_WORDS } from '../../ui/words.js';

/** How often Relink checks, whether it notifies, and the state of the keychain that holds every connection's key. */
export function SettingsView() {
  const snapshot = useSnapshot();
  const session = useRelink((s) => s.session);
  const settings = snapshot.settings;
  const [interval, setIntervalText] = useState(String(settings.probeIntervalMinutes));
  const [notifications, setNotifications] = useState(settings.notifications);
  const [firmName, setFirmName] = useState(settings.firmName);
  const [advisorName, setAdvisorName] = useState(settings.advisorName);
  const [error, setError] = useState<string | null>(null);
  const [firmError, setFirmError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [saving, setSaving] = useState(false);

  // When main's settings change (another window, the CLI), show them, unless the advisor is mid-edit.
  const [base, setBase] = useState(settings);
  useEffect(() => {
    if (
      settings.probeIntervalMinutes === base.probeIntervalMinutes &&
      settings.notifications === base.notifications &&
      settings.firmName === base.firmName &&
      settings.advisorName === base.advisorName
    ) {
      return;
    }
    setBase(settings);
    setIntervalText(String(settings.probeIntervalMinutes));
    setNotifications(settings.notifications);
    setFirmName(settings.firmName);
    setAdvisorName(settings.advisorName);
  }, [settings, base]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setSaved(false);
    const minutes = Number(interval);
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 1440) {
      setError('Enter a whole number of minutes between 1 and 1440 (a day).');
      return;
    }
    if (!firmName.trim()) {
      setError(null);
      setFirmError("Enter the firm's name; it is printed on audit reports.");
      return;
    }
    setError(null);
    setFirmError(null);
    setSaving(true);
    const r = await request('settings.update', { probeIntervalMinutes: minutes, notifications, firmName: firmName.trim(), advisorName: advisorName.trim() });
    setSaving(false);
    if (r.ok) {
      setBase(r.value);
      replaceSettingsInSnapshot(r.value);
      setSaved(true);
    } else {
      setError(r.error.message);
    }
  };

  return (
    <>
      <ViewHeading>Settings</ViewHeading>

      <section className="section card" aria-labelledby="checking-heading">
        <h2 id="checking-heading">Firm and checking</h2>
        <form onSubmit={submit} noValidate>
          <div className={firmError ? 'field has-error' : 'field'}>
            <label htmlFor="firm-name">Firm name</label>
            <input
              id="firm-name"
              type="text"
              value={firmName}
              maxLength={200}
              aria-describedby={firmError ? 'firm-error firm-help' : 'firm-help'}
              aria-invalid={firmError ? true : undefined}
              onChange={(e) => {
                setFirmName(e.target.value);
                setSaved(false);
              }}
            />
            {firmError && (
              <p className="field-error" id="firm-error">
                {firmError}
              </p>
            )}
            <p className="field-help" id="firm-help">
              Printed on the audit reports a partner files.
            </p>
          </div>
          <div className="field">
            <label htmlFor="advisor-name">Your name</label>
            <input
              id="advisor-name"
              type="text"
              value={advisorName}
              maxLength={200}
              autoComplete="name"
              aria-describedby="advisor-help"
              onChange={(e) => {
                setAdvisorName(e.target.value);
                setSaved(false);
              }}
            />
            <p className="field-help" id="advisor-help">
              Recorded with what you do in Relink (the activity log and the reports), next to this computer's user name. Leave it empty to record only the
              user name.
            </p>
          </div>
          <div className={error ? 'field has-error' : 'field'}>
            <label htmlFor="probe-interval">Check connections every (minutes)</label>
            <input
              id="probe-interval"
              type="number"
              className="narrow"
              min={1}
              max={1440}
              step={1}
              value={interval}
              aria-describedby={error ? 'probe-error probe-help' : 'probe-help'}
              aria-invalid={error ? true : undefined}
              onChange={(e) => {
                setIntervalText(e.target.value);
                setSaved(false);
              }}
            />
            {error && (
              <p className="field-error" id="probe-error">
                {error}
              </p>
            )}
            <p className="field-help" id="probe-help">
              How often Relink asks Xero whether each organisation is still connected. It also keeps every sign-in alive
              at least every {settings.keepAliveHours} hours, so none reaches Xero's 60-day limit while Relink is running.
            </p>
          </div>
          <div className="field">
            <label className="choice">
              <input
                type="checkbox"
                checked={notifications}
                onChange={(e) => {
                  setNotifications(e.target.checked);
                  setSaved(false);
                }}
              />
              <span>
                <strong>Notify me when a connection breaks or comes back</strong>
                <span className="choice-help">A system notification, once per problem, not once per organisation.</span>
              </span>
            </label>
          </div>
          <div className="form-actions">
            <button type="submit" className="button primary" aria-disabled={saving}>
              {saving ? 'Saving…' : 'Save'}
            </button>
            <span role="status" aria-live="polite">
              {saved && <StatusText tone="ok" icon="check" text="Saved." />}
            </span>
          </div>
        </form>
      </section>

      <section className="section card" aria-labelledby="keychain-heading">
        <h2 id="keychain-heading">Keychain</h2>
        <p>
          <StatusText
            tone={KEYCHAIN_WORDS[snapshot.keychain].tone}
            icon={snapshot.keychain === 'available' ? 'key' : 'lock'}
            text={KEYCHAIN_WORDS[snapshot.keychain].label}
          />
        </p>
        <KeychainAdvice state={snapshot.keychain} />
      </section>

      <section className="section card" aria-labelledby="about-heading">
        <h2 id="about-heading">About</h2>
        <dl className="facts">
          <div>
            <dt>Version</dt>
            <dd>{session?.version ?? ''}</dd>
          </div>
          <div>
            <dt>Running as</dt>
            <dd>{session?.host === 'browser' ? 'Browser window' : 'Desktop app'}{session?.demo ? ', demo firm' : ''}</dd>
          </div>
          <div>
            <dt>Keeping connections alive</dt>
            <dd>{session?.engineRunning ? 'Yes' : 'Paused'}</dd>
          </div>
          {snapshot.clockSkewMs !== null && Math.abs(snapshot.clockSkewMs) >= 60_000 && (
            <div>
              <dt>This computer's clock</dt>
              <dd>
                About {Math.round(Math.abs(snapshot.clockSkewMs) / 60_000)} minutes {snapshot.clockSkewMs > 0 ? 'behind' : 'ahead of'} Xero's.
                Turn on automatic date and time.
              </dd>
            </div>
          )}
        </dl>
      </section>
    </>
  );
}

function CheckAgain() {
  return (
    <p className="button-row">
      <button type="button" className="button primary" onClick={() => void runCheck()}>
        Check again
      </button>
    </p>
  );
}

function KeychainAdvice({ state }: { state: keyof typeof KEYCHAIN_WORDS }) {
  if (state === 'available') {
    return (
      <p>
        Relink keeps each connection's key and any app secrets in this computer's keychain (macOS Keychain, Windows
        Credential Manager or GNOME Keyring), never in a file.
      </p>
    );
  }
  if (state === 'not-answering') {
    return (
      <>
        <p>
          The keychain is not answering, so Relink is waiting before it refreshes connections. Nothing has been lost:
          the keys are still there, and Relink asks again on its own every few minutes. If this lasts, restart the
          computer's keychain service (or sign out and in again), then check again.
        </p>
        <CheckAgain />
      </>
    );
  }
  if (state === 'locked') {
    return (
      <>
        <p>
          The keychain is locked, so Relink cannot refresh connections. Nothing has been lost: the keys are still there.
          Unlock it (usually by signing in to this computer again, or opening Keychain Access, Credential Manager or
          Passwords and Keys and unlocking the login keychain), then check again.
        </p>
        <CheckAgain />
      </>
    );
  }
  return (
    <>
      <p>
        Relink cannot find a keychain on this computer. It will not keep keys anywhere less safe, so it cannot save new
        connections or refresh existing ones until one is available. On Linux, install and start GNOME Keyring (or another
        Secret Service), sign in again, then check again.
      </p>
      <p className="button-row">
        <button type="button" className="button primary" onClick={() => void runCheck()}>
          Check again
        </button>
      </p>
    </>
  );
}
