import { describe, expect, it } from 'vitest';
import { appName, compareNames, indexSnapshot, sortedRows, staffName } from '../../../renderer/src/state/derive.js';
import { firm } from '../support/firm.js';

/**
 * The organisations-by-apps table and the lookups the views use, built from one status snapshot. Nothing here
 * decides a health: it groups, counts and orders what main sent.
 */

const names = (rows: Array<{ name: string }>) => rows.map((r) => r.name);

describe('indexSnapshot', () => {
  it('puts the apps in columns by name, whatever their case', () => {
    const index = indexSnapshot(firm());
    expect(index.apps.map((a) => a.name)).toEqual(['Accounts Ledger', 'harbour Reporting', 'Sync Pro']);
    expect(index.appColumn.get('ledger')).toBe(0);
    expect(index.appColumn.get('hr')).toBe(1);
    expect(index.appColumn.get('sp')).toBe(2);
  });

  it('lists each organisation once, by name, case-insensitive and with numbers in number order', () => {
    const index = indexSnapshot(firm());
    expect(names(index.rows)).toEqual(['alpha Farms', 'Beta Builders', 'Org 2', 'Org 10', 'Xylo']);
    expect(index.rowsById.get('o2')?.search).toBe('org 2');
    expect(index.rowsById.size).toBe(5);
  });

  it("shows in a cell the connection that most needs attention, and counts the ones it stands for", () => {
    const index = indexSnapshot(firm());
    const org2 = index.rowsById.get('o2')!;
    // The broken sign-in came after the healthy one and still takes the cell.
    expect(org2.cells[2]).toMatchObject({ staffId: 'jane', health: 'needs-reconnect' });
    expect(org2.cellCounts).toEqual([0, 1, 2]);
    expect(org2.cells[0]).toBeNull();
    expect(org2.all).toHaveLength(3);
    expect(org2.worstRank).toBe(1);
    expect(org2.broken).toBe(1);

    const alpha = index.rowsById.get('oa')!;
    // The broken one came first: a healthy twin after it does not hide it.
    expect(alpha.cells[1]).toMatchObject({ staffId: 'jane', health: 'disconnected' });
    expect(alpha.cells[0]).toMatchObject({ health: 'degraded' });
    expect(alpha.broken).toBe(1);

    const org10 = index.rowsById.get('o10')!;
    expect(org10.broken).toBe(0);
    expect(org10.worstRank).toBe(8);
  });

  it("keeps a connection to an app no longer listed in the organisation's list, with no cell", () => {
    const xylo = indexSnapshot(firm()).rowsById.get('ox')!;
    expect(xylo.all).toHaveLength(1);
    expect(xylo.cells).toEqual([null, null, null]);
    expect(xylo.cellCounts).toEqual([0, 0, 0]);
  });

  it('counts every health state and the connections a person must act on', () => {
    const index = indexSnapshot(firm());
    expect(index.healthCounts).toEqual({
      healthy: 3,
      checking: 0,
      degraded: 1,
      expiring: 1,
      'needs-reconnect': 2,
      disconnected: 1,
      forbidden: 1,
      'app-broken': 0,
      unverified: 0,
    });
    // needs-reconnect ×2, disconnected, forbidden; degraded and expiring still work.
    expect(index.brokenCount).toBe(4);
  });

  it('lists the causes present once each, sorted', () => {
    expect(indexSnapshot(firm()).causes).toEqual(['app-disconnected-in-org', 'password-changed', 'role-restricted']);
  });

  it('groups connections by staff member and by incident, and grants by staff member', () => {
    const index = indexSnapshot(firm());
    expect(index.connectionsByStaff.get('jane')?.map((c) => c.orgId)).toEqual(['o10', 'o2', 'oa']);
    expect(index.connectionsByStaff.get('tom')).toHaveLength(3);
    expect(index.connectionsByIncident.get('inc1')?.map((c) => c.orgId)).toEqual(['o2', 'ox']);
    expect(index.grantsByStaff.get('jane')?.map((g) => g.id)).toEqual(['g1', 'g2']);
    expect(index.grantsByStaff.get('tom')).toBeUndefined();
    expect(index.appsById.get('hr')?.name).toBe('harbour Reporting');
    expect(index.grantsById.get('g3')?.staffId).toBe('aroha');
  });

  it('builds once per snapshot: the same snapshot gives the same index, a new one a new index', () => {
    const s = firm();
    expect(indexSnapshot(s)).toBe(indexSnapshot(s));
    const next = { ...s, connections: s.connections.filter((c) => c.orgId !== 'ox') };
    const index = indexSnapshot(next);
    expect(index).not.toBe(indexSnapshot(s));
    expect(names(index.rows)).not.toContain('Xylo');
    expect(index.brokenCount).toBe(3);
  });

  it('handles an empty firm', () => {
    const s = firm();
    const index = indexSnapshot({ ...s, apps: [], connections: [], grants: [], staff: [] });
    expect(index.rows).toEqual([]);
    expect(index.brokenCount).toBe(0);
    expect(index.causes).toEqual([]);
  });
});

describe('names', () => {
  const index = indexSnapshot(firm());

  it("names a staff member by name, then email, and says so when the person is not listed", () => {
    expect(staffName(index, 'jane')).toBe('Jane Doe');
    expect(staffName(index, 'tom')).toBe('tom@firm.example');
    expect(staffName(index, 'someone-who-left')).toBe('A former staff member');
    expect(staffName(index, null)).toBe('Someone');
    expect(staffName(index, undefined)).toBe('Someone');
  });

  it('names an app, or says it was removed', () => {
    expect(appName(index, 'sp')).toBe('Sync Pro');
    expect(appName(index, 'gone')).toBe('A removed app');
    expect(appName(index, null)).toBe('An app');
  });

  it('compares names as a person reads them', () => {
    expect(compareNames('org 2', 'Org 10')).toBeLessThan(0);
    expect(compareNames('Ōtaki', 'otaki')).toBe(0);
    expect(compareNames('beta', 'Alpha')).toBeGreaterThan(0);
  });
});

describe('sortedRows', () => {
  it('orders by name, or reversed', () => {
    const index = indexSnapshot(firm());
    expect(sortedRows(index, null, false)).toBe(index.rows);
    expect(names(sortedRows(index, null, true))).toEqual(['Xylo', 'Org 10', 'Org 2', 'Beta Builders', 'alpha Farms']);
  });

  it("orders by one app's health, needs-attention first, not-connected last, ties by name", () => {
    const index = indexSnapshot(firm());
    expect(names(sortedRows(index, 'sp', false))).toEqual(['Org 2', 'Org 10', 'alpha Farms', 'Beta Builders', 'Xylo']);
    expect(names(sortedRows(index, 'hr', false))).toEqual(['alpha Farms', 'Org 2', 'Beta Builders', 'Org 10', 'Xylo']);
  });

  it('reverses the health order when descending, keeping ties by name', () => {
    const index = indexSnapshot(firm());
    expect(names(sortedRows(index, 'sp', true))).toEqual(['alpha Farms', 'Beta Builders', 'Xylo', 'Org 10', 'Org 2']);
  });

  it('orders by name for an app it does not know', () => {
    const index = indexSnapshot(firm());
    expect(names(sortedRows(index, 'gone', false))).toEqual(names(index.rows));
  });

  it('sorts once per snapshot and order, and leaves the name order untouched', () => {
    const index = indexSnapshot(firm());
    const first = sortedRows(index, 'sp', false);
    expect(sortedRows(index, 'sp', false)).toBe(first);
    expect(sortedRows(index, 'sp', true)).not.toBe(first);
    expect(names(index.rows)).toEqual(['alpha Farms', 'Beta Builders', 'Org 2', 'Org 10', 'Xylo']);
  });
});
