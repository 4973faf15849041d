import type { SnapshotIndex } from '../../state/derive.js';
import { href } from '../../state/router.js';
import { HEALTH_ICONS } from '../../ui/Status.js';
import { Icon } from '../../ui/Icon.js';
import { HEALTH_ORDER, HEALTH_WORDS } from '../../ui/words.js';

/** Connections counted by health, most urgent first; each count opens the Organisations view filtered to it. */
export function HealthCounts({ index }: { index: SnapshotIndex }) {
  const shown = HEALTH_ORDER.filter((h) => index.healthCounts[h] > 0 || h === 'healthy');
  return (
    <ul className="health-counts">
      {shown.map((h) => {
        const words = HEALTH_WORDS[h];
        const n = index.healthCounts[h];
        return (
          <li key={h}>
            <a className={`health-count tone-${words.tone}`} href={href('organisations', null, { health: h })}>
              <span className="health-count-number">{n.toLocaleString()}</span>
              <span className="health-count-label">
                <Icon name={HEALTH_ICONS[h]} className="status-icon" />
                {words.label}
              </span>
            </a>
          </li>
        );
      })}
    </ul>
  );
}
