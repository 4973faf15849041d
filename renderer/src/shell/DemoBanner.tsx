import type { Session } from '../../../shared/api.js';
import { useRelink } from '../state/store.js';
import { Icon } from '../ui/Icon.js';

/**
 * Demo mode says so, calmly, on every view: the firm is made up, nothing reaches real Xero, and automatic
 * refreshing is paused so the demo's problems stay put until the advisor presses Check now. Without a keychain
 * the demo holds its sandbox sign-ins in memory, and says that too. Outside the demo, a profile whose keychain
 * cannot be used says what is missing and how to get it (KeychainNotice), on every view.
 */
export function DemoBanner() {
  const session = useRelink((s) => s.session);
  if (!session) return null;
  if (!session.demo) return session.keychainHelp ? <KeychainNotice help={session.keychainHelp} /> : null;
  return (
    <section className="demo-banner" aria-label="Demo mode">
      <Icon name="info" className="demo-icon" />
      <p>
        <strong>This is a demo firm</strong> in Relink's built-in Xero sandbox: no real Xero data is involved.
        {session.engineRunning
          ? ' Relink keeps its connections alive as it would for your own firm.'
          : ' Automatic refreshing is paused; press Check now to check every connection.'}
        {session.secretsInMemory && (
          <>
            {' '}
            <strong>Its sign-ins are held in memory only</strong>, because this computer has no keychain Relink can use: they
            are the sandbox's, worthless outside it, and end when Relink stops. Your firm's own profile needs a keychain.
          </>
        )}
      </p>
    </section>
  );
}

/** What is missing when the profile's keychain cannot be used, and the steps to get it on this computer. */
export function KeychainNotice({ help }: { help: NonNullable<Session['keychainHelp']> }) {
  return (
    <section className="callout tone-bad keychain-notice" role="alert" aria-labelledby="keychain-notice-title">
      <h2 id="keychain-notice-title" className="callout-title">
        {help.title}
      </h2>
      <p>{help.text}</p>
      <ol>
        {help.steps.map((step) => (
          <li key={step}>{step}</li>
        ))}
      </ol>
    </section>
  );
}
