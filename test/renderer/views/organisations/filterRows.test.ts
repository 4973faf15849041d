import { describe, expect, it } from 'vitest';
import { indexSnapshot, sortedRows } from '../../../../renderer/src/state/derive.js';
import { filterRows, filtersFromParams, filtersToParams, hasFilters, NO_FILTERS, type OrgFilters } from '../../../../renderer/src/views/organisations/filterRows.js';
import { firm } from '../../support/firm.js';

/**
 * The Organisations filters: search text, health (or "needs attention"), app, staff member and cause. Health,
 * staff member, app and cause must hold for the same connection.
 */

const index = indexSnapshot(firm());
const by = (f: Partial<OrgFilters>, rows = index.rows) => filterRows(index, rows, { ...NO_FILTERS, ...f }).map((r) => r.name);

describe('filterRows', () => {
  it('returns the rows as they are without filters', () => {
    expect(filterRows(index, index.rows, NO_FILTERS)).toBe(index.rows);
    expect(filterRows(index, index.rows, { ...NO_FILTERS, query: '   ' })).toBe(index.rows);
  });

  it('searches names, ignoring case and surrounding spaces', () => {
    expect(by({ query: 'org' })).toEqual(['Org 2', 'Org 10']);
    expect(by({ query: '  ALPHA ' })).toEqual(['alpha Farms']);
    expect(by({ query: 'g 1' })).toEqual(['Org 10']);
    expect(by({ query: 'nobody' })).toEqual([]);
  });

  it('filters by one health state', () => {
    expect(by({ health: 'expiring' })).toEqual(['Org 2']);
    expect(by({ health: 'healthy' })).toEqual(['alpha Farms', 'Org 2', 'Org 10']);
    expect(by({ health: 'app-broken' })).toEqual([]);
  });

  it('"needs attention" is every state a person must act on, not retrying or expiring', () => {
    expect(by({ health: 'attention' })).toEqual(['alpha Farms', 'Beta Builders', 'Org 2', 'Xylo']);
    expect(by({ health: 'degraded' })).toEqual(['alpha Farms']);
  });

  it('needs staff member and health to hold for the same connection', () => {
    // Aroha reaches Org 2, which is broken, but through Jane's sign-in: not one of Aroha's broken ones.
    expect(by({ staffId: 'aroha', health: 'attention' })).toEqual([]);
    expect(by({ staffId: 'jane', health: 'attention' })).toEqual(['alpha Farms', 'Org 2']);
    // Aroha's healthy connection at alpha Farms is found though the cell shows Jane's broken one.
    expect(by({ staffId: 'aroha', health: 'healthy', appId: 'hr' })).toEqual(['alpha Farms']);
  });

  it('filters by app, and finds nothing for an app not in the table', () => {
    expect(by({ appId: 'hr' })).toEqual(['alpha Farms', 'Org 2']);
    expect(by({ appId: 'ledger', health: 'forbidden' })).toEqual(['Beta Builders']);
    expect(by({ appId: 'gone' })).toEqual([]);
  });

  it('filters by cause', () => {
    expect(by({ cause: 'role-restricted' })).toEqual(['Beta Builders']);
    expect(by({ cause: 'password-changed' })).toEqual(['Org 2', 'Xylo']);
    expect(by({ cause: 'password-changed', appId: 'sp' })).toEqual(['Org 2']);
  });

  it('combines search with the per-connection filters', () => {
    expect(by({ query: 'org', health: 'attention' })).toEqual(['Org 2']);
    expect(by({ query: 'x', staffId: 'jane' })).toEqual([]);
  });

  it('keeps the order of the rows it is given', () => {
    const byHealth = sortedRows(index, 'sp', true);
    expect(by({ health: 'attention' }, byHealth)).toEqual(['alpha Farms', 'Beta Builders', 'Xylo', 'Org 2']);
  });
});

describe('filters in the URL', () => {
  it('reads the filters from the route parameters', () => {
    expect(filtersFromParams(new URLSearchParams('health=attention&app=hr&staff=jane&cause=password-changed&q=org'))).toEqual({
      query: 'org',
      health: 'attention',
      appId: 'hr',
      staffId: 'jane',
      cause: 'password-changed',
    });
    expect(filtersFromParams(new URLSearchParams(''))).toEqual(NO_FILTERS);
  });

  it('writes only the filters that are set, and reads back what it wrote', () => {
    const f: OrgFilters = { ...NO_FILTERS, health: 'expiring', query: 'north & south' };
    const params = filtersToParams(f);
    expect(params).toEqual({ health: 'expiring', q: 'north & south' });
    expect(filtersFromParams(new URLSearchParams(params))).toEqual(f);
  });

  it('says whether any filter is set (blank search does not count)', () => {
    expect(hasFilters(NO_FILTERS)).toBe(false);
    expect(hasFilters({ ...NO_FILTERS, query: '   ' })).toBe(false);
    expect(hasFilters({ ...NO_FILTERS, cause: 'network' })).toBe(true);
  });
});
