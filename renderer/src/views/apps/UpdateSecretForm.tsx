import { useId, useState, type FormEvent } from 'react';
import type { AppSummary } from '../../../../shared/api.js';
import { updateAppSecret } from '../../state/store.js';

/**
 * After someone generated a new client secret in Xero's developer portal, every connection of a web app stops
 * with "invalid_client". Pasting the new secret here stores it in the keychain (never in Relink's files) and
 * checks the app's connections straight away.
 */
export function UpdateSecretForm({ app, demo = false }: { app: AppSummary; demo?: boolean }) {
  const id = useId();
  const [secret, setSecret] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [result, setResult] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (busy) return;
    if (!secret.trim()) {
      setError('Paste the client secret from the developer portal first.');
      return;
    }
    setBusy(true);
    setError(null);
    setResult(null);
    const r = await updateAppSecret(app.id, secret);
    setBusy(false);
    if (!r.ok) {
      setError(r.error.message);
      return;
    }
    setSecret('');
    const s = r.value;
    setResult(
      s.appRejected > 0
        ? `Xero still refuses ${app.name}'s credentials for ${s.appRejected} sign-in${s.appRejected === 1 ? '' : 's'}. Check that you copied the newest secret of this app.`
        : `Saved. ${s.refreshed} of ${s.grants} sign-in${s.grants === 1 ? '' : 's'} work again.`,
    );
  }

  return (
    <form className="inline-form" onSubmit={(e) => void submit(e)} noValidate aria-labelledby={`${id}-title`}>
      <p id={`${id}-title`} className="inline-form-title">
        Enter the new client secret
      </p>
      <div className={error ? 'field has-error' : 'field'}>
        <label htmlFor={`${id}-secret`}>Client secret of {app.name}</label>
        <input
          id={`${id}-secret`}
          type="password"
          value={secret}
          onChange={(e) => setSecret(e.target.value)}
          autoComplete="off"
          aria-invalid={error ? true : undefined}
          aria-describedby={`${id}-help${error ? ` ${id}-error` : ''}`}
        />
        {error && (
          <p className="field-error" id={`${id}-error`}>
            {error}
          </p>
        )}
        <p className="field-help" id={`${id}-help`}>
          {demo
            ? `In the demo's developer portal (the link above): ${app.name} → Show secret → Copy. It is kept with the demo's other sign-ins.`
            : `Developer portal → My Apps → ${app.name} → Configuration → Generate a secret. It is kept in this computer's keychain.`}
        </p>
      </div>
      <div className="form-actions">
        <button type="submit" className="button primary" aria-disabled={busy}>
          {busy ? 'Saving and checking…' : 'Save and check'}
        </button>
      </div>
      {result && (
        <p role="status" className="muted">
          {result}
        </p>
      )}
    </form>
  );
}
