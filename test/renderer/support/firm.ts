import { app, person, snapshot } from './snapshot.js';

/**
 * A small firm for derivation and filtering tests. Columns by name: Accounts Ledger, harbour Reporting, Sync Pro.
 * Organisations by name: alpha Farms, Beta Builders, Org 2, Org 10, Xylo (connected only to an app Relink no
 * longer lists).
 */
export function firm() {
  return snapshot({
    apps: [app('sp', 'Sync Pro'), app('hr', 'harbour Reporting'), app('ledger', 'Accounts Ledger')],
    staff: [person('jane', 'Jane Doe'), person('aroha', 'Aroha Ngata'), person('tom', '', 'tom@firm.example')],
    grants: [
      { id: 'g1', app: 'sp', staff: 'jane' },
      { id: 'g2', app: 'hr', staff: 'jane' },
      { id: 'g3', app: 'sp', staff: 'aroha' },
    ],
    connections: [
      { org: 'o10', orgName: 'Org 10', app: 'sp', staff: 'jane', health: 'healthy' },
      // Two people's sign-ins reach Org 2 through Sync Pro: the healthy one first, the broken one after it.
      { org: 'o2', orgName: 'Org 2', app: 'sp', staff: 'aroha', health: 'healthy' },
      { org: 'o2', orgName: 'Org 2', app: 'sp', staff: 'jane', health: 'needs-reconnect', cause: 'password-changed', incident: 'inc1' },
      { org: 'o2', orgName: 'Org 2', app: 'hr', staff: 'aroha', health: 'expiring' },
      // And at alpha Farms the broken one first, the healthy one after it.
      { org: 'oa', orgName: 'alpha Farms', app: 'hr', staff: 'jane', health: 'disconnected', cause: 'app-disconnected-in-org' },
      { org: 'oa', orgName: 'alpha Farms', app: 'hr', staff: 'aroha', health: 'healthy' },
      { org: 'oa', orgName: 'alpha Farms', app: 'ledger', staff: 'tom', health: 'degraded' },
      { org: 'ob', orgName: 'Beta Builders', app: 'ledger', staff: 'tom', health: 'forbidden', cause: 'role-restricted' },
      { org: 'ox', orgName: 'Xylo', app: 'gone', staff: 'tom', health: 'needs-reconnect', cause: 'password-changed', incident: 'inc1' },
    ],
  });
}
