import { AppShell } from './shell/AppShell.js';
import { start, useRelink } from './state/store.js';
import { FirstRun } from './views/first-run/FirstRun.js';

/**
 * The renderer's root: waits for the first picture from main, then shows first run (no app yet, or the
 * advisor is still finishing it) or the app itself.
 */
export function App() {
  const phase = useRelink((s) => s.phase);
  const session = useRelink((s) => s.session);
  const onboarding = useRelink((s) => s.onboarding);
  const startError = useRelink((s) => s.startError);

  if (phase === 'starting') {
    return (
      <main className="centred" id="main">
        <p role="status" className="muted">
          Opening Relink…
        </p>
      </main>
    );
  }
  if (phase === 'failed' || !session) {
    return (
      <main className="centred" id="main">
        <h1>Relink could not start</h1>
        <p>{startError ?? "Relink's window could not reach its service."}</p>
        <button type="button" className="button primary" onClick={() => void start()}>
          Try again
        </button>
      </main>
    );
  }
  if (onboarding || session.firstRun) return <FirstRun />;
  return <AppShell />;
}
