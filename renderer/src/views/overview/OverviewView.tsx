import { useMemo } from 'react';
import { BROKEN_HEALTH } from '../../../../shared/domain.js';
import { indexSnapshot } from '../../state/derive.js';
import { href } from '../../state/router.js';
import { useSnapshot } from '../../state/store.js';
import { StatusText } from '../../ui/Status.js';
import { ViewHeading } from '../../ui/ViewHeading.js';
import { plural } from '../../ui/words.js';
import { HealthCounts } from './HealthCounts.js';
import { IncidentCard } from './IncidentCard.js';

/** What needs the advisor now: open incidents first, each with its fix, then every connection by health. */
export function OverviewView() {
  const snapshot = useSnapshot();
  const index = useMemo(() => indexSnapshot(snapshot), [snapshot]);
  const incidents = snapshot.incidents;
  const loose = useMemo(
    () => snapshot.connections.filter((c) => BROKEN_HEALTH.has(c.health) && !c.incidentId).length,
    [snapshot],
  );

  return (
    <>
      <ViewHeading
        description={`${plural(index.rows.length, 'client organisation')}, ${plural(snapshot.connections.length, 'connection')}, ${plural(snapshot.apps.length, 'app')}. ${
          // Only when there is something to say: the section below says "Nothing needs attention" itself.
          index.brokenCount === 0 ? '' : `${plural(index.brokenCount, 'connection')} ${index.brokenCount === 1 ? 'needs' : 'need'} attention.`
        }`.trim()}
      >
        Overview
      </ViewHeading>

      <section aria-labelledby="attention-heading" className="section">
        <h2 id="attention-heading">Needs your attention</h2>
        {incidents.length === 0 && loose === 0 ? (
          <p className="empty">
            <StatusText tone="ok" icon="check" text="Nothing needs attention. Every connection Relink checked is working." />
          </p>
        ) : (
          <>
            {incidents.length > 0 && (
              <ul className="incident-list">
                {incidents.map((i) => (
                  <IncidentCard key={i.id} incident={i} index={index} now={snapshot.generatedAt} />
                ))}
              </ul>
            )}
            {loose > 0 && (
              <p>
                <a href={href('organisations', null, { health: 'attention' })}>
                  {plural(loose, 'other connection')} {loose === 1 ? 'needs' : 'need'} attention
                </a>
              </p>
            )}
          </>
        )}
      </section>

      <section aria-labelledby="health-heading" className="section">
        <h2 id="health-heading">Connections by health</h2>
        <HealthCounts index={index} />
      </section>
    </>
  );
}
