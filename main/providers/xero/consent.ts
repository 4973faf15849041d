import type { ConnectionsPort } from '../../refresh/engine.js';
import type { ConsentEvidence, ConsentOrganisations } from '../provider.js';

/**
 * What one Xero consent connected. Xero's access token carries the consent's `authentication_event_id`, and
 * `GET /connections?authEventId=…` lists exactly the organisations that consent ticked (xero-protocol.md);
 * plain `GET /connections` lists everything the person has connected to the app. A token without the claim
 * (not a JWT) cannot tell them apart: then what this consent ticked is everything listed.
 */
export async function organisationsOfConsent(connections: ConnectionsPort, consent: ConsentEvidence): Promise<ConsentOrganisations> {
  const eventId = consent.accessClaims?.authentication_event_id;
  const authEventId = typeof eventId === 'string' && eventId ? eventId : null;
  const all = await connections.list(consent.accessToken);
  const ticked = authEventId ? await connections.list(consent.accessToken, { authEventId }) : all;
  return { all, ticked, consentIds: authEventId ? [authEventId] : [] };
}
