import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { Explanation } from '../../../../shared/domain.js';
import { href } from '../../state/router.js';
import { request } from '../../state/store.js';
import { StatusText } from '../../ui/Status.js';
import { ViewHeading } from '../../ui/ViewHeading.js';
import { CAUSE_WORDS, CONFIDENCE_WORDS } from '../../ui/words.js';

/**
 * Paste any error an app or a client forwarded (401 AuthenticationUnsuccessful, invalid_grant,
 * token_rejected…) and get what it means and what to do. Main answers with fixed sentences; nothing pasted is
 * repeated back or kept. Ctrl+Enter (⌘+Enter on a Mac) in the box explains, as in a mail client.
 */
export function ExplainView() {
  const [text, setText] = useState('');
  const [result, setResult] = useState<Explanation | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const resultHeading = useRef<HTMLHeadingElement>(null);
  const form = useRef<HTMLFormElement>(null);
  // Focus moves to each new answer once it is on screen (after the render, not at a guessed frame).
  useEffect(() => {
    if (result) resultHeading.current?.focus();
  }, [result]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (busy) return;
    if (!text.trim()) {
      setError('Paste an error message first.');
      return;
    }
    setBusy(true);
    setError(null);
    const r = await request('explain', { text: text.slice(0, 20_000) });
    setBusy(false);
    if (r.ok) {
      setResult(r.value);
    } else {
      setResult(null);
      setError(r.error.message);
    }
  };

  return (
    <>
      <ViewHeading description="Paste an error message from Xero, an app or an email, and Relink says what it means and what to do.">
        Explain an error
      </ViewHeading>
      <form className="explain-form" ref={form} onSubmit={submit} noValidate>
        <div className={error ? 'field has-error' : 'field'}>
          <label htmlFor="explain-text">Error message</label>
          <textarea
            id="explain-text"
            rows={6}
            value={text}
            maxLength={20_000}
            spellCheck={false}
            placeholder={'For example: 401 Unauthorized {"Title":"Unauthorized","Detail":"AuthenticationUnsuccessful"}'}
            aria-describedby={error ? 'explain-error explain-help' : 'explain-help'}
            aria-invalid={error ? true : undefined}
            onChange={(e) => setText(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
                e.preventDefault();
                form.current?.requestSubmit();
              }
            }}
          />
          {error && (
            <p className="field-error" id="explain-error" role="alert">
              {error}
            </p>
          )}
          <p className="field-help" id="explain-help">
            Relink reads it on this computer and does not keep it. Press Ctrl+Enter to explain.
          </p>
        </div>
        <div className="form-actions">
          <button type="submit" className="button primary" aria-disabled={busy}>
            {busy ? 'Explaining…' : 'Explain'}
          </button>
        </div>
      </form>

      {result && (
        <section className="card explanation" aria-labelledby="explanation-title">
          <h2 id="explanation-title" ref={resultHeading} tabIndex={-1}>
            {result.title}
          </h2>
          <p className="explanation-meta">
            {result.matched ? (
              <>
                <span className={`confidence confidence-${result.confidence}`}>{CONFIDENCE_WORDS[result.confidence]}</span>
                {result.cause && <span className="muted">{CAUSE_WORDS[result.cause]}</span>}
              </>
            ) : (
              <StatusText tone="muted" icon="question" text="Relink did not recognise a specific error, so this is general guidance." />
            )}
          </p>
          <h3>What happened</h3>
          <p>{result.whatHappened}</p>
          <h3>What to do</h3>
          <p>{result.fix}</p>
          {(result.action === 'reconnect' || result.action === 'reconnect-in-org') && (
            <p>
              <a href={href('organisations', null, { health: 'attention' })}>See the connections that need reconnecting</a>
            </p>
          )}
          {result.action === 'update-app-credentials' && (
            <p>
              <a href={href('apps')}>Go to Apps</a>
            </p>
          )}
          {result.action === 'unlock-keychain' && (
            <p>
              <a href={href('settings')}>Go to Settings</a>
            </p>
          )}
          {result.codes.length > 0 && (
            <>
              <h3>Codes recognised</h3>
              <ul className="code-list">
                {result.codes.map((c) => (
                  <li key={c}>
                    <code>{c}</code>
                  </li>
                ))}
              </ul>
            </>
          )}
        </section>
      )}
    </>
  );
}
