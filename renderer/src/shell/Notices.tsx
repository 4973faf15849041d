import { dismissNotice, useRelink } from '../state/store.js';
import { Icon } from '../ui/Icon.js';
import { StatusText } from '../ui/Status.js';

/**
 * The results of what the advisor just did (a secret saved and accepted, connections refreshed), above the view
 * they did it on, until dismissed or the advisor moves on. A live region, so a screen reader hears each one;
 * focus that lost its place (the form that was fixed disappeared) lands on the newest (see useFocusKeeper).
 */
export function Notices() {
  const notices = useRelink((s) => s.notices);
  return (
    <div className="notices" role="status" aria-live="polite">
      {notices.map((n) => (
        <div key={n.id} className={`notice tone-${n.tone}`} tabIndex={-1} data-notice={n.at}>
          <StatusText tone={n.tone} icon={n.tone === 'ok' ? 'check' : n.tone === 'info' ? 'info' : 'alert'} text={n.text} />
          <button type="button" className="icon-button" aria-label={`Dismiss: ${n.text}`} title="Dismiss" onClick={() => dismissNotice(n.id)}>
            <Icon name="close" />
          </button>
        </div>
      ))}
    </div>
  );
}
