import { describe, expect, it } from 'vitest';
import { connectReportSchema } from '../../../shared/api.js';
import { consentReport, type ConsentFacts } from '../../../main/service/consent-report.js';

/** What one consent brought back, from Xero's two listings, without Xero: the pure half of `connect`. */

const jane = { id: 'jane', email: 'jane@firm.example', name: 'Jane Doe' };
const facts = (over: Partial<ConsentFacts> = {}): ConsentFacts => ({
  app: { id: 'sync', name: 'Practice Sync', multiOrgConsent: true },
  grantId: 'g1',
  staff: jane,
  before: new Map([
    ['t1', 'Acme Ltd'],
    ['t2', 'Bayside Bakery'],
  ]),
  expected: new Map([
    ['t1', 'Acme Ltd'],
    ['t2', 'Bayside Bakery'],
  ]),
  listed: [
    { tenantId: 't1', tenantName: 'Acme Ltd' },
    { tenantId: 't3', tenantName: 'Cove Cafe' },
  ],
  listingFailure: null,
  ticked: ['t1', 't3'],
  expectStaffId: 'jane',
  ...over,
});

describe('consentReport', () => {
  it('back again, new, and still missing with the reason that fits the app', () => {
    const r = connectReportSchema.parse(consentReport(facts()));
    expect(r.reconnected).toEqual([{ tenantId: 't1', name: 'Acme Ltd' }]);
    expect(r.connected).toEqual([{ tenantId: 't3', name: 'Cove Cafe' }]);
    expect(r.stillMissing).toEqual([{ tenantId: 't2', name: 'Bayside Bakery', reason: 'Not ticked on the consent page, so Xero did not connect it. Reconnect and tick it.' }]);
    expect(r.warning).toBeNull();

    const oneAtATime = consentReport(facts({ app: { id: 'pay', name: 'Payroll Bridge', multiOrgConsent: false } }));
    expect(oneAtATime.stillMissing[0]!.reason).toBe('Payroll Bridge connects one organisation per approval: reconnect again and choose Bayside Bakery.');
  });

  it('an organisation reachable but not ticked by this consent is not reported as newly connected by it', () => {
    expect(consentReport(facts({ ticked: ['t1'] })).connected).toEqual([]);
  });

  it('approved by someone else: says so, naming them', () => {
    const r = consentReport(facts({ staff: { id: 'tom', email: 'tom@firm.example', name: 'Tom Walsh' } }));
    expect(r.warning).toBe('This was approved by Tom Walsh (tom@firm.example), not by the staff member expected; the connection now depends on Tom Walsh.');
  });

  it("Xero's listing could not be read: each expected organisation is still to check, once, with why", () => {
    const r = connectReportSchema.parse(consentReport(facts({ listed: null, listingFailure: '503 Service Unavailable', ticked: null })));
    expect(r.connected).toEqual([]);
    expect(r.reconnected).toEqual([]);
    expect(r.stillMissing.map((o) => o.tenantId)).toEqual(['t1', 't2']);
    expect(r.stillMissing[0]!.reason).toBe("Could not read Xero's connections (503 Service Unavailable); check again later.");
  });
});
