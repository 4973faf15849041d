import { describe, expect, it } from 'vitest';
import type { Operation } from '../../../shared/api.js';
import { activeFor, concerns, isActive, latestFor, latestForTarget } from '../../../renderer/src/state/operations.js';

/** Which sign-ins in the browser concern which connections, so progress shows where the advisor pressed. */

let seq = 0;
function op(patch: Partial<Operation>): Operation {
  seq += 1;
  return {
    id: `op${seq}`,
    kind: 'connect',
    runId: null,
    itemId: null,
    leaverId: null,
    outcome: null,
    message: null,
    appId: 'sp',
    staffId: null,
    tenantId: null,
    tenantIds: [],
    state: 'waiting-for-approval',
    authorizeUrl: null,
    startedAt: '2026-03-01T09:00:00.000Z',
    finishedAt: null,
    report: null,
    error: null,
    ...patch,
  };
}

const report = (reconnected: string[], stillMissing: string[]): Operation['report'] => ({
  appId: 'sp',
  grantId: 'g1',
  staff: { id: 'jane', email: 'jane@firm.example', name: 'Jane Doe' },
  connected: [],
  reconnected: reconnected.map((tenantId) => ({ tenantId, name: tenantId })),
  stillMissing: stillMissing.map((tenantId) => ({ tenantId, name: tenantId, reason: 'Not listed by Xero' })),
  warning: null,
});

describe('isActive', () => {
  it('is true while waiting in the browser or verifying, false once finished', () => {
    expect(isActive(op({ state: 'waiting-for-approval' }))).toBe(true);
    expect(isActive(op({ state: 'verifying' }))).toBe(true);
    for (const state of ['succeeded', 'failed', 'cancelled'] as const) expect(isActive(op({ state }))).toBe(false);
  });
});

describe('concerns', () => {
  it('needs the same app', () => {
    expect(concerns(op({ appId: 'hr', tenantId: 'o1' }), 'sp', 'o1', 'jane')).toBe(false);
  });

  it('with an organisation pressed, concerns only that organisation', () => {
    const o = op({ tenantId: 'o1', staffId: 'jane' });
    expect(concerns(o, 'sp', 'o1', 'jane')).toBe(true);
    expect(concerns(o, 'sp', 'o2', 'jane')).toBe(false);
  });

  it("for a whole sign-in, concerns every organisation of that staff member's", () => {
    const o = op({ staffId: 'jane' });
    expect(concerns(o, 'sp', 'o1', 'jane')).toBe(true);
    expect(concerns(o, 'sp', 'o9', 'jane')).toBe(true);
    expect(concerns(o, 'sp', 'o1', 'aroha')).toBe(false);
  });

  it("for a first connection, concerns the organisations its report names (back or still missing)", () => {
    const o = op({ state: 'succeeded', report: report(['o1'], ['o2']) });
    expect(concerns(o, 'sp', 'o1', null)).toBe(true);
    expect(concerns(o, 'sp', 'o2', 'aroha')).toBe(true);
    expect(concerns(o, 'sp', 'o3', null)).toBe(false);
    expect(concerns(op({}), 'sp', 'o1', null)).toBe(false);
  });
});

describe('finding the operation for a connection', () => {
  // Newest first, as the store keeps them.
  const running = op({ staffId: 'jane', state: 'waiting-for-approval' });
  const failed = op({ tenantId: 'o1', staffId: 'jane', state: 'failed' });
  const older = op({ tenantId: 'o1', staffId: 'jane', state: 'succeeded' });
  const ops = [failed, running, older];

  it('latestFor takes the newest that concerns it, finished or not', () => {
    expect(latestFor(ops, 'sp', 'o1', 'jane')).toBe(failed);
    expect(latestFor(ops, 'sp', 'o5', 'jane')).toBe(running);
    expect(latestFor(ops, 'hr', 'o1', 'jane')).toBeNull();
  });

  it('activeFor takes the newest still running', () => {
    expect(activeFor(ops, 'sp', 'o1', 'jane')).toBe(running);
    expect(activeFor([failed, older], 'sp', 'o1', 'jane')).toBeNull();
  });

  it("latestForTarget takes only one started for exactly this target (a button's own progress)", () => {
    expect(latestForTarget(ops, 'sp', 'jane', 'o1')).toBe(failed);
    expect(latestForTarget(ops, 'sp', 'jane', null)).toBe(running);
    expect(latestForTarget(ops, 'sp', null, 'o1')).toBeNull();
    expect(latestForTarget([], 'sp', 'jane', null)).toBeNull();
  });
});
