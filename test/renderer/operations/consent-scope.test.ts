import { describe, expect, it } from 'vitest';
import type { StatusSnapshot } from '../../../shared/api.js';
import { candidateWords, listWords, orgNames, staffLabel, takeoverCandidates } from '../../../renderer/src/operations/consent-scope.js';

/**
 * Who could take over a colleague's organisations, from what Relink's last check saw: only active colleagues
 * whose own connections to them were working; never the person who lost access, never a broken connection.
 */

const AT = '2026-03-01T09:00:00.000Z';

function snapshot(connections: Array<{ org: string; staff: string; health: StatusSnapshot['connections'][number]['health'] }>, staff: StatusSnapshot['staff']): StatusSnapshot {
  return {
    generatedAt: AT,
    keychain: 'available',
    apps: [],
    staff,
    grants: [],
    connections: connections.map((c, i) => ({
      id: `c${i}`,
      appId: 'sync',
      orgId: c.org,
      orgName: { t1: 'Totara Timber Co', t2: 'Northshore Motors', t3: 'Urban Nest Interiors' }[c.org] ?? c.org,
      grantId: `g-${c.staff}`,
      staffId: c.staff,
      health: c.health,
      cause: null,
      confidence: null,
      since: null,
      fix: null,
      fixAction: null,
      incidentId: null,
    })),
    incidents: [],
    settings: { probeIntervalMinutes: 60, expiringAfterDays: 45, notifications: true, firmName: 'Firm', advisorName: '' } as StatusSnapshot['settings'],
    clockSkewMs: null,
  };
}

const STAFF: StatusSnapshot['staff'] = [
  { id: 'ben', email: 'ben@firm.example', name: 'Ben Carter', status: 'active' },
  { id: 'aroha', email: 'aroha@firm.example', name: 'Aroha Ngata', status: 'active' },
  { id: 'priya', email: 'priya@firm.example', name: 'Priya Shah', status: 'active' },
  { id: 'tom', email: 'tom@firm.example', name: 'Tom Walsh', status: 'leaving' },
];

describe('consent scope: the organisations to tick and who could approve them', () => {
  const s = snapshot(
    [
      { org: 't1', staff: 'ben', health: 'disconnected' },
      { org: 't2', staff: 'ben', health: 'disconnected' },
      { org: 't1', staff: 'aroha', health: 'healthy' },
      { org: 't2', staff: 'aroha', health: 'expiring' },
      { org: 't2', staff: 'priya', health: 'healthy' },
      { org: 't1', staff: 'priya', health: 'needs-reconnect' },
      { org: 't1', staff: 'tom', health: 'healthy' },
    ],
    STAFF,
  );

  it('counts only working connections of active colleagues, most organisations first', () => {
    expect(takeoverCandidates(s, ['t1', 't2'], 'ben')).toEqual([
      { staffId: 'aroha', name: 'Aroha Ngata', reaches: 2 },
      { staffId: 'priya', name: 'Priya Shah', reaches: 1 },
    ]);
    expect(candidateWords(takeoverCandidates(s, ['t1', 't2'], 'ben'), 2)).toBe('Aroha Ngata (all 2) and Priya Shah (1 of 2)');
    // Nobody with a working connection: nobody is named.
    expect(takeoverCandidates(snapshot([{ org: 't1', staff: 'ben', health: 'disconnected' }], STAFF), ['t1'], 'ben')).toEqual([]);
  });

  it('names organisations in name order and people as the sign-in page lists them', () => {
    expect(orgNames(s, ['t2', 't1', 't2', 'unknown'])).toEqual(['Northshore Motors', 'Totara Timber Co']);
    expect(staffLabel(s, 'aroha')).toBe('Aroha Ngata (aroha@firm.example)');
    expect(staffLabel(s, 'nobody')).toBeNull();
    expect(listWords(['A', 'B', 'C'])).toBe('A, B and C');
  });
});
