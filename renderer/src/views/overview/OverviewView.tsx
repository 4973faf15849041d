import { useMemo } from 'react';
import { BROKEN_HEALTH } from '../../../../shared/domain.js';
import { indexSnapshot } from '../../state/derive.js';
import { href } from '../../state/router.js';
import { useSnapshot } from '../../state/store.js';
import { StatusText } from '../../ui/Status.js';
import { ViewHeading } from '../../ui/ViewHeading.js';
import { plural } from '../../ui/words.js';
import { ExpiringCard, expiringGroups } from './ExpiringCard.js';
import { HealthCounts } from './HealthCounts.js';
import { IncidentCard } from './IncidentCard.js';

/**
 * What needs the advisor now: open incidents first, each with its fix, then sign-ins about to end on their own
 * (with their date and clients), then every connection by health. When nothing needs attention it says only
 * what it knows: nothing connected yet, nothing checked yet, or every connection it checked works.
 */
export function OverviewView() {
  const snapshot = useSnapshot();
  const index = useMemo(() => indexSnapshot(snapshot), [snapshot]);
  const incidents = snapshot.incidents;
  const loose = useMemo(
    () => snapshot.connections.filter((c) => BROKEN_HEALTH.has(c.health) && !c.incidentId).length,
    [snapshot],
  );
  const expiring = useMemo(() => expiringGroups(index, snapshot.connections), [index, snapshot]);
  const total = snapshot.connections.length;
  const unchecked = index.healthCounts.unverified + index.healthCounts.checking;

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
        {incidents.length === 0 && loose === 0 && expiring.length === 0 ? (
          <AllClear total={total} unchecked={unchecked} apps={snapshot.apps.length} />
        ) : (
          <>
            {(incidents.length > 0 || expiring.length > 0) && (
              <ul className="incident-list">
                {incidents.map((i) => (
                  <IncidentCard key={i.id} incident={i} index={index} now={snapshot.generatedAt} />
                ))}
                {expiring.map((g) => (
                  <ExpiringCard key={g.grant.id} group={g} index={index} />
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
        {total === 0 ? <p className="muted">No connections yet.</p> : <HealthCounts index={index} />}
      </section>
    </>
  );
}

/** Nothing broken and nothing ending: say exactly how much Relink knows. */
function AllClear({ total, unchecked, apps }: { total: number; unchecked: number; apps: number }) {
  if (total === 0) {
    return (
      <div className="empty">
        <p>
          <StatusText tone="info" icon="info" text="Nothing connected yet." />
        </p>
        <p>
          {apps === 1 ? 'Your app is' : `Your ${apps} apps are`} set up, but no client organisation is connected to{' '}
          {apps === 1 ? 'it' : 'them'}. <a href={href('apps')}>Connect organisations in Apps</a>.
        </p>
      </div>
    );
  }
  if (unchecked === total) {
    return (
      <p className="empty">
        <StatusText
          tone="muted"
          icon="question"
          text={`Relink has not checked ${total === 1 ? 'the connection' : `any of the ${plural(total, 'connection')}`} yet. Press Check now to find out whether ${total === 1 ? 'it works' : 'they work'}.`}
        />
      </p>
    );
  }
  return (
    <p className="empty">
      <StatusText
        tone="ok"
        icon="check"
        text={
          unchecked > 0
            ? `Nothing needs attention among the ${plural(total - unchecked, 'connection')} Relink checked; ${plural(unchecked, 'connection')} not checked yet.`
            : 'Nothing needs attention. Every connection Relink checked is working.'
        }
      />
    </p>
  );
}
