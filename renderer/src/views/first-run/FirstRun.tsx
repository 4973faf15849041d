import { useEffect, useRef, useState, type RefObject } from 'react';
import { latestForTarget } from '../../state/operations.js';
import { afterAppAdded, finishOnboarding, startDemo, useRelink } from '../../state/store.js';
import { ReconnectControl } from '../../operations/ReconnectControl.js';
import { HelpLink } from '../../ui/HelpLink.js';
import { Icon } from '../../ui/Icon.js';
import { Busy } from '../../ui/Status.js';
import { AddAppForm } from '../apps/AddAppForm.js';
import { KeychainNotice } from '../../shell/DemoBanner.js';
import { AppChecks, type AddedApp } from '../apps/AppChecks.js';

/**
 * First run: two ways in. Add the firm's own Xero app and connect it, or explore a made-up firm in the
 * built-in Xero sandbox, with the kinds of breakage Relink exists for already in place.
 */
type Step = { kind: 'choose' } | { kind: 'add' } | { kind: 'connect'; app: AddedApp };

export function FirstRun() {
  const [step, setStep] = useState<Step>({ kind: 'choose' });
  // Without a usable keychain the firm's own profile can keep nothing: say what is missing before anything else.
  const keychain = useRelink((s) => s.session?.keychainHelp ?? null);
  const heading = useRef<HTMLHeadingElement>(null);
  const first = useRef(true);
  useEffect(() => {
    // Each step starts at its heading for keyboard and screen-reader users (not on first paint).
    if (first.current) {
      first.current = false;
      return;
    }
    heading.current?.focus();
  }, [step.kind]);

  return (
    <main id="main" className="first-run">
      <div className="first-run-inner">
        <p className="brand first-run-brand">
          <span className="brand-mark" aria-hidden="true">
            R
          </span>
          Relink
        </p>
        {keychain && <KeychainNotice help={keychain} />}
        {step.kind === 'choose' && <Choose heading={heading} onAdd={() => setStep({ kind: 'add' })} />}
        {step.kind === 'add' && (
          <>
            <h1 ref={heading} tabIndex={-1}>
              Add your Xero app
            </h1>
            <p className="lead">
              Relink connects through an app your firm creates in Xero's developer portal, so the connections belong to
              the firm. Copy these details from My Apps → your app → Configuration.
            </p>
            <div className="card">
              <AddAppForm
                onAdded={(app) => {
                  void afterAppAdded();
                  setStep({ kind: 'connect', app });
                }}
                onCancel={() => setStep({ kind: 'choose' })}
              />
            </div>
          </>
        )}
        {step.kind === 'connect' && <Connect heading={heading} app={step.app} />}
      </div>
    </main>
  );
}

function Choose({ heading, onAdd }: { heading: RefObject<HTMLHeadingElement | null>; onAdd: () => void }) {
  const [starting, setStarting] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <>
      <h1 ref={heading} tabIndex={-1}>
        Welcome to Relink
      </h1>
      <p className="lead">
        Relink watches every Xero connection your firm depends on, tells you in plain words when one breaks and why, and
        reconnects it in one click.
      </p>
      <div className="choices">
        <section className="card choice-card" aria-labelledby="choose-own">
          <Icon name="apps" size={24} className="choice-icon" />
          <h2 id="choose-own">Add your Xero app</h2>
          <p>
            Use the app your firm created in Xero's developer portal. You will need its client id, and its client secret if
            it is a web app.
          </p>
          <p className="muted">
            No app yet? <HelpLink topic="xero-developer-portal">Create one in Xero's developer portal</HelpLink>
          </p>
          <button type="button" className="button primary" onClick={onAdd}>
            Add your Xero app
          </button>
        </section>
        <section className="card choice-card" aria-labelledby="choose-demo">
          <Icon name="play" size={24} className="choice-icon" />
          <h2 id="choose-demo">Explore with the built-in sandbox</h2>
          <p>
            A made-up firm with 40 client organisations, three apps and six staff, running in Relink's own Xero sandbox. No
            Xero account needed, and nothing touches real data. It already has the problems Relink is for:
          </p>
          <ul className="bullets">
            <li>a staff member's password change</li>
            <li>someone removed from client organisations</li>
            <li>an app disconnected in one organisation</li>
            <li>connections close to the 60-day limit</li>
            <li>an app whose credentials were changed</li>
          </ul>
          <div role="status" aria-live="polite">
            {starting && <Busy text="Setting up the demo firm…" />}
            {error && <p className="form-error">{error}</p>}
          </div>
          <button
            type="button"
            className="button"
            aria-disabled={starting}
            onClick={async () => {
              if (starting) return;
              setStarting(true);
              setError(null);
              const r = await startDemo();
              setStarting(false);
              if (!r.ok) setError(r.error.message);
            }}
          >
            Explore the demo firm
          </button>
        </section>
      </div>
    </>
  );
}

function Connect({ heading, app }: { heading: RefObject<HTMLHeadingElement | null>; app: AddedApp }) {
  const ops = useRelink((s) => s.operations);
  const op = latestForTarget(ops, app.id, null, null);
  const done = op?.state === 'succeeded';
  return (
    <>
      <h1 ref={heading} tabIndex={-1}>
        Connect {app.name}
      </h1>
      <p className="lead">
        {app.name} is added. Now approve it in Xero: your browser opens Xero's sign-in. Sign in as the person whose access
        the connections should use, tick the client organisations, and press Allow access.
      </p>
      <div className="card">
        <AppChecks app={app} />
      </div>
      <div className="card">
        <ol className="steps">
          <li>Press Connect. Your browser opens Xero.</li>
          <li>Sign in to Xero and choose the organisations{app.multiOrgConsent ? ' (you can tick several)' : ''}.</li>
          <li>Come back here: Relink shows which organisations are connected.</li>
        </ol>
        <ReconnectControl
          target={{ appId: app.id, staffId: null, tenantId: null }}
          label="Connect"
          ariaLabel={`Connect organisations to ${app.name}`}
          appName={app.name}
        />
      </div>
      <div className="form-actions">
        <button type="button" className={done ? 'button primary' : 'button subtle'} onClick={finishOnboarding}>
          {done ? 'Continue to Relink' : 'Skip for now'}
        </button>
      </div>
    </>
  );
}
