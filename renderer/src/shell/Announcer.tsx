import { useRelink } from '../state/store.js';

/**
 * One polite live region for news that arrives on its own (a problem found, a problem resolved), so a screen
 * reader hears it without the view moving focus.
 */
export function Announcer() {
  const announcement = useRelink((s) => s.announcement);
  return (
    <div className="visually-hidden" role="status" aria-live="polite">
      {announcement && <span key={announcement.id}>{announcement.text}</span>}
    </div>
  );
}
