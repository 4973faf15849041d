import type { IncidentView } from '../state/derive.js';
import { useRelink } from '../state/store.js';
import { candidateWords, orgNames, staffLabel, takeoverCandidates } from './consent-scope.js';
import { OrgNames } from '../ui/OrgNames.js';

/**
 * Under an incident's fix: the organisations it concerns, by name, and who signs in to fix it — the person
 * who approved before, or, when that person lost access, the colleagues whose own connections to those
 * organisations were working at Relink's last check (the only evidence Relink has of who can reach them).
 */
export function IncidentScope({ incident }: { incident: IncidentView }) {
  const snapshot = useRelink((s) => s.snapshot);
  const names = orgNames(snapshot, incident.tenantIds);
  if (names.length === 0) return null;
  const reconnects = incident.fix.action === 'reconnect' || incident.fix.action === 'reconnect-in-org';
  const person = staffLabel(snapshot, incident.staffId);
  const them = names.length === 1 ? 'it' : 'them';
  let who: string | null = null;
  if (reconnects && incident.cause === 'staff-removed') {
    const candidates = takeoverCandidates(snapshot, incident.tenantIds, incident.staffId);
    who = candidates.length
      ? `Who could take ${them} over: ${candidateWords(candidates, names.length)}. At Relink's last check their own connections to ${them} were working.`
      : `No one else at the firm had a working connection to ${them} at Relink's last check: ask each client's Xero admin to invite the advisor who should take ${them} over.`;
  } else if (reconnects && person) {
    who = `Sign in as: ${person}.`;
  }
  return (
    <div className="incident-scope">
      <OrgNames label={names.length === 1 ? 'Organisation' : `${names.length} organisations`} names={names} className="incident-orgs" />
      {who && <p className="incident-who">{who}</p>}
    </div>
  );
}
