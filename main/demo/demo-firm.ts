import http from 'node:http';
import type { Clock } from '../core/clock.js';
import { startSandboxServer, type RunningSandbox } from '../sandbox/server.js';
import type { RelinkService } from '../service/relink-service.js';

/**
 * Demo mode: the built-in sandbox started in this process with the `demo` firm (Harbour & Finch, 40 client
 * organisations, six staff, three apps), connected through Relink's real consent flow, and then broken the
 * ways real firms see: a password change, a staff member removed from clients, an app disconnected in one
 * organisation, rotated credentials, and a seasonal client whose connection has sat idle for 50 days.
 *
 * Everything goes through the same code as a real firm's connections — the loopback callback, token
 * exchange, keychain, `/connections`, refresh and probe — so what the demo shows is what Relink would show.
 */

export interface DemoFirm {
  sandbox: RunningSandbox;
  /** What was broken, for the banner and the tests. */
  story: DemoStory;
  close(): Promise<void>;
}

export interface DemoStory {
  passwordChanged: string;
  removedFromOrgs: { staff: string; orgs: string[] };
  disconnected: { app: string; org: string };
  credentialsRotated: string;
  expiring: { staff: string; app: string; idleDays: number };
}

const DAY = 86_400_000;
/** The seasonal client's connection: idle long enough to be flagged, with ten days left to save it. */
const IDLE_DAYS = 50;
/** The demo firm's name, printed on its reports like a real firm's (Settings → Firm name). */
export const DEMO_FIRM_NAME = 'Harbour & Finch';

export async function startDemoSandbox(): Promise<RunningSandbox> {
  return startSandboxServer({ seed: { seed: 'demo' } });
}

/** Adds the demo's apps to `service`, connects them as the firm's staff, then applies the breakages. */
export async function populateDemo(service: RelinkService, sandbox: RunningSandbox, clock: Clock): Promise<DemoStory> {
  const world = sandbox.sandbox.world;
  await service.updateSettings({ firmName: DEMO_FIRM_NAME });
  const seeded = sandbox.sandbox.lastSeed.apps;
  const staff = [...world.users.values()];
  const byEmail = (prefix: string) => {
    const u = staff.find((s) => s.email.startsWith(prefix));
    if (!u) throw new Error(`The demo firm has no ${prefix}.`);
    return u;
  };
  const aroha = byEmail('aroha');
  const jane = byEmail('jane');
  const ben = byEmail('ben');
  const priya = byEmail('priya');
  const tom = byEmail('tom');
  const mei = byEmail('mei');
  const orgs = [...world.orgs.values()];

  const appIds = new Map<string, string>();
  for (const s of seeded) {
    const sbApp = world.app(s.clientId);
    const ports = [...new Set(sbApp.redirectUris.map((u) => Number(new URL(u).port)))];
    const creator = sbApp.createdBy ? world.user(sbApp.createdBy).email : null;
    const app = await service.addApp(
      {
        name: s.name,
        clientId: s.clientId,
        authType: sbApp.type,
        issuer: sandbox.origin,
        apiBase: sandbox.origin,
        redirectPorts: ports,
        scopes: sbApp.scopes,
        connectionCap: world.connectionCap(sbApp),
        multiOrgConsent: sbApp.multiOrgConsent,
        createdBy: creator,
      },
      s.clientSecret ?? null,
    );
    appIds.set(s.name, app.id);
  }
  const [sync, reporting, payroll] = seeded;
  if (!sync || !reporting || !payroll) throw new Error('The demo firm is missing one of its three apps.');

  // Who connected which client to which app. Practice Sync has multi-organisation consent, so each person
  // gives one consent for all their clients; the other two connect one organisation per consent.
  const has = (u: typeof jane, i: number) => u.roles.has(orgs[i]!.tenantId);
  const syncOrgs = new Map<typeof jane, number[]>([[jane, []], [ben, []], [priya, []], [aroha, []]]);
  orgs.forEach((_, i) => {
    const owner =
      has(jane, i) && syncOrgs.get(jane)!.length < 12 ? jane
        : has(ben, i) && syncOrgs.get(ben)!.length < 6 ? ben
          : has(priya, i) && syncOrgs.get(priya)!.length < 4 ? priya
            : aroha;
    syncOrgs.get(owner)!.push(i);
  });
  const pick = (u: typeof jane, n: number, avoid: Set<number>) => orgs.map((_, i) => i).filter((i) => has(u, i) && !avoid.has(i)).slice(0, n);
  const reportingOrgs = new Map([[jane, pick(jane, 3, new Set())], [tom, pick(tom, 4, new Set())]]);
  const payrollTaken = new Set<number>();
  const payrollOrgs = new Map<typeof jane, number[]>();
  for (const [u, n] of [[jane, 2], [mei, 3], [priya, 2]] as const) {
    const chosen = pick(u, n, payrollTaken);
    chosen.forEach((i) => payrollTaken.add(i));
    payrollOrgs.set(u, chosen);
  }

  const consent = async (clientId: string, appName: string, user: typeof jane, tenantIndexes: number[]) => {
    world.arrangeConsent(clientId, { userId: user.userId, tenantIds: tenantIndexes.map((i) => orgs[i]!.tenantId), decision: 'allow' });
    await service.connect(appIds.get(appName)!, { open: followConsent, timeoutMs: 30_000 });
  };
  for (const [u, idx] of syncOrgs) if (idx.length) await consent(sync.clientId, sync.name, u, idx);
  for (const [u, idx] of reportingOrgs) for (const i of idx) await consent(reporting.clientId, reporting.name, u, [i]);
  for (const [u, idx] of payrollOrgs) for (const i of idx) await consent(payroll.clientId, payroll.name, u, [i]);

  // The breakages.
  world.changePassword(jane.userId);
  const removed = syncOrgs.get(ben)!.slice(0, 3).map((i) => orgs[i]!);
  for (const org of removed) world.removeUserFromOrg(ben.userId, org.tenantId);
  const disconnectedOrg = orgs[syncOrgs.get(priya)![0]!]!;
  world.disconnectAppInOrg(disconnectedOrg.tenantId, sync.clientId);
  world.rotateSecret(reporting.clientId);

  // Relink notices them as it would on any morning: refresh every connection, then read /connections.
  await service.check();

  // The seasonal client: nobody has opened its payroll for 50 days. Relink's keep-alive would normally have
  // refreshed it; in the demo automatic refreshing is paused, so this is how it would look had Relink not run.
  const payrollAppId = appIds.get(payroll.name)!;
  const idleSince = new Date(clock.now() - IDLE_DAYS * DAY).toISOString();
  await service.store.update(
    (d) => {
      for (const g of Object.values(d.grants)) {
        if (g.appId === payrollAppId && g.staffId === mei.userId) {
          g.refreshTokenIssuedAt = idleSince;
          g.lastRefreshAt = idleSince;
          g.lastProbeAt = idleSince;
          g.connectedAt = idleSince;
        }
      }
    },
    { durable: true },
  );
  await service.assess();

  const name = (u: typeof jane) => `${u.givenName} ${u.familyName}`;
  return {
    passwordChanged: name(jane),
    removedFromOrgs: { staff: name(ben), orgs: removed.map((o) => o.name) },
    disconnected: { app: sync.name, org: disconnectedOrg.name },
    credentialsRotated: reporting.name,
    expiring: { staff: name(mei), app: payroll.name, idleDays: IDLE_DAYS },
  };
}

/**
 * Stands in for the person at the browser while the demo is built: the sandbox completes an arranged consent
 * at once, so following its redirects reaches Relink's loopback callback like a browser would.
 */
async function followConsent(url: string): Promise<void> {
  let current = url;
  for (let hop = 0; hop < 5; hop++) {
    const { status, location } = await navigate(current);
    if (status >= 300 && status < 400 && location) {
      current = new URL(location, current).toString();
      continue;
    }
    if (status !== 200) throw new Error(`The demo sign-in stopped with HTTP ${status}.`);
    return;
  }
  throw new Error('The demo sign-in redirected too many times.');
}

/** A top-level navigation as a browser makes it (fetch would label itself a CORS request, which the callback refuses). */
function navigate(url: string): Promise<{ status: number; location: string | null }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: typeof res.headers.location === 'string' ? res.headers.location : null }));
    });
    req.on('error', reject);
    req.setTimeout(15_000, () => req.destroy(new Error('The demo sign-in did not answer.')));
  });
}

