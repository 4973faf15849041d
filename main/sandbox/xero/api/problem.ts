import { randomUUID } from 'node:crypto';
import { json, type SbOutcome } from '../../http/types.js';

/**
 * Xero's API error body: RFC 7807-like with PascalCase keys, and `Instance` equal to the correlation id
 * (shared/reference/xero-protocol.md §5.2).
 */
export function problem(
  status: number,
  title: string,
  detail: string,
  headers: Record<string, string> = {},
): SbOutcome {
  const correlationId = randomUUID();
  return json(
    status,
    { Type: null, Title: title, Status: status, Detail: detail, Instance: correlationId, Extensions: {} },
    { 'xero-correlation-id': correlationId, ...headers },
  );
}

export const unauthorized = (detail: string, headers: Record<string, string> = {}) =>
  problem(401, 'Unauthorized', detail, headers);

export const forbidden = (headers: Record<string, string> = {}) =>
  problem(403, 'Forbidden', 'AuthenticationUnsuccessful', headers);
