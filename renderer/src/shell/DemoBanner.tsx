import { useRelink } from '../state/store.js';
import { Icon } from '../ui/Icon.js';

/**
 * Demo mode says so, calmly, on every view: the firm is made up, nothing reaches real Xero, and automatic
 * refreshing is paused so the demo's problems stay put until the advisor presses Check now.
 */
export function DemoBanner() {
  const session = useRelink((s) => s.session);
  if (!session?.demo) return null;
  return (
    <section className="demo-banner" aria-label="Demo mode">
      <Icon name="info" className="demo-icon" />
      <p>
        <strong>This is a demo firm</strong> in Relink's built-in Xero sandbox: no real Xero data is involved.
        {session.engineRunning
          ? ' Relink keeps its connections alive as it would for your own firm.'
          : ' Automatic refreshing is paused; press Check now to check every connection.'}
      </p>
    </section>
  );
}
