import type { ReconnectRunView } from '../../../../shared/workflows.js';
import { StatusText } from '../../ui/Status.js';
import { plural } from '../../ui/words.js';

/**
 * The end of a reconnect plan in one place (issue 10): how many approvals were given, skipped or failed, which
 * organisations are back and which are still not reconnected (with why), and the third-party apps still to do
 * by hand. Built only from the run main verified, so it says no more than the table above it.
 */
export function RunSummary({ run }: { run: ReconnectRunView }) {
  const p = run.progress;
  const orgs = new Map<string, { name: string; back: boolean; why: string | null }>();
  for (const item of run.items) {
    for (const o of item.organisations) {
      if (o.state === 'unplanned' || o.state === 'disconnected') continue;
      const seen = orgs.get(o.tenantId);
      const back = o.state === 'reconnected' || !!seen?.back;
      const why = back ? null : item.state === 'skipped' ? `skipped${item.reason ? `: ${item.reason}` : ''}` : item.state === 'failed' ? `failed${item.reason ? `: ${item.reason}` : ''}` : 'not approved yet';
      orgs.set(o.tenantId, { name: o.name, back, why: seen && !seen.back && !back ? seen.why : why });
    }
  }
  const all = [...orgs.values()];
  const back = all.filter((o) => o.back).length;
  const missing = all.filter((o) => !o.back);
  const trackedLeft = run.tracked.filter((t) => t.state === 'needs-reconnect');
  const complete = missing.length === 0 && trackedLeft.length === 0;
  const head = run.state === 'cancelled' ? 'Plan stopped' : complete ? 'Plan finished: everything is back' : 'Plan finished';

  return (
    <section className="run-end" aria-labelledby="run-end-heading">
      <h3 id="run-end-heading">
        <StatusText tone={complete ? 'ok' : 'warn'} icon={complete ? 'check' : 'alert'} text={head} />
      </h3>
      <p>
        {plural(p.done, 'approval')} given
        {p.skipped > 0 && `, ${p.skipped} skipped`}
        {p.failed > 0 && `, ${p.failed} failed`}
        {p.remaining > 0 && `, ${p.remaining} not asked for`}. {back} of {plural(all.length, 'organisation')} {back === 1 ? 'is' : 'are'} back.
      </p>
      {missing.length > 0 && (
        <>
          <p className="report-label">Still not reconnected</p>
          <ul className="bullets">
            {missing.map((o) => (
              <li key={o.name}>
                {o.name}
                {o.why && <span className="muted"> ({o.why})</span>}
              </li>
            ))}
          </ul>
        </>
      )}
      {trackedLeft.length > 0 && (
        <p>
          Still to do by hand: {plural(trackedLeft.length, 'third-party app')} to reconnect in {trackedLeft.length === 1 ? 'its' : 'their'} own settings (below).
        </p>
      )}
    </section>
  );
}
