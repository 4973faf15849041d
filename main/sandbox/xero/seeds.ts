import { z } from 'zod';
import { seededIds } from './ids.js';
import type { Role, World } from './world.js';

/**
 * Seeds build a world from nothing. `demo` is a believable accounting firm, identical on every run (ids are
 * derived from names) so screenshots and training notes stay comparable; `scale` is parameterised for
 * benchmarks; `empty` is for tests that build exactly what they need.
 */
export const seedSchema = z
  .object({
    seed: z.enum(['empty', 'demo', 'scale']),
    scale: z
      .object({
        orgs: z.number().int().min(1).max(50_000).default(2000),
        apps: z.number().int().min(1).max(50).default(5),
        staff: z.number().int().min(1).max(2000).default(40),
      })
      .strict()
      .optional(),
  })
  .strict();

export type SeedRequest = z.input<typeof seedSchema>;

export interface SeededApp {
  name: string;
  clientId: string;
  /** Present for web apps: a sandbox-only credential, handed to whoever resets the sandbox. */
  clientSecret?: string;
}

export interface SeedSummary {
  seed: 'empty' | 'demo' | 'scale';
  orgs: number;
  users: number;
  apps: SeededApp[];
  connections: number;
}

const DEMO_ORGS = [
  'Kowhai Landscaping Ltd', 'Bluegum Physiotherapy', 'Ridgeway Builders', 'Harbourside Dental', 'Totara Timber Co',
  'Southern Cross Plumbing', 'Pukeko Childcare Centre', 'Marlow & Daughters Bakery', 'Tidewater Marine Services',
  'Greenfield Organics', 'Northshore Motors', 'Silver Fern Travel', 'Copperleaf Café', 'Brightside Electrical',
  'Kauri Coast Vineyards', 'Ashgrove Veterinary Clinic', 'Urban Nest Interiors', 'Pacific Freight Forwarding',
  'Stonebridge Legal', 'Whitecliff Accommodation', 'Moana Surf School', 'Redwood Joinery', 'Lakeside Medical Centre',
  'Foxglove Florists', 'Ironbark Engineering', 'Seaview Property Management', 'Little Acorns Montessori',
  'Taranaki Dairy Supplies', 'Harrow & Wilde Architects', 'Skyline Signage', 'Ember & Oak Restaurant',
  'Waitaki Sheep Station', 'Clearwater Pools', 'Matai Health Foods', 'Coastline Cycles', 'Rangitoto Roofing',
  'Pohutukawa Photography', 'Highgate Fitness', 'Bellbird Books', 'Otago Craft Brewing',
];

/** The firm's people: a partner, four advisers and a leaver whose dependencies an audit must find. */
const DEMO_STAFF = [
  { email: 'aroha.ngata@harbourfinch.example', givenName: 'Aroha', familyName: 'Ngata', every: 1 },
  { email: 'jane.doe@harbourfinch.example', givenName: 'Jane', familyName: 'Doe', every: 2 },
  { email: 'ben.carter@harbourfinch.example', givenName: 'Ben', familyName: 'Carter', every: 3 },
  { email: 'priya.shah@harbourfinch.example', givenName: 'Priya', familyName: 'Shah', every: 4 },
  { email: 'tom.walsh@harbourfinch.example', givenName: 'Tom', familyName: 'Walsh', every: 5 },
  { email: 'mei.lin@harbourfinch.example', givenName: 'Mei', familyName: 'Lin', every: 6 },
];

const SCOPES_FULL = [
  'accounting.settings', 'accounting.settings.read', 'accounting.contacts', 'accounting.contacts.read',
  'accounting.invoices', 'accounting.invoices.read', 'accounting.payments', 'accounting.payments.read',
  'accounting.banktransactions.read', 'accounting.reports.read', 'accounting.reports.balancesheet.read',
  'accounting.reports.profitandloss.read',
];

/** Loopback callbacks on a few fixed ports, as a desktop app registers them (Xero matches exactly). */
function loopbackUris(ports: number[]): string[] {
  return ports.flatMap((p) => [`http://127.0.0.1:${p}/callback`, `http://localhost:${p}/callback`]);
}

const THIRD_PARTY = ['Paysuite Payroll', 'ReceiptJar', 'ShopLink Commerce', 'Clientele CRM'];

function seedDemo(world: World): SeededApp[] {
  const orgs = DEMO_ORGS.map((name) => world.addOrg(name));
  const staff = DEMO_STAFF.map(({ every, ...u }) => ({ user: world.addUser(u), every }));
  const roles: Role[] = ['adviser', 'standard', 'adviser', 'read-only'];
  staff.forEach(({ user, every }, s) => {
    orgs.forEach((org, i) => {
      if ((i + s) % every === 0) world.setRole(user.userId, org.tenantId, s === 0 ? 'adviser' : roles[i % roles.length]!);
    });
  });
  // One client who only lets the firm raise invoices: a role too narrow for reports.
  world.setRole(staff[1]!.user.userId, orgs[1]!.tenantId, 'invoice-only');
  const [aroha, , , , tom] = staff.map((s) => s.user);
  const apps = [
    world.addApp({
      name: 'Harbour Practice Sync', type: 'pkce', redirectUris: loopbackUris([5001, 5002, 5003]), scopes: SCOPES_FULL,
      createdBy: aroha!.userId, tier: 'advanced', connectionCap: undefined, multiOrgConsent: true,
    }),
    world.addApp({
      name: 'Harbour Reporting', type: 'web', redirectUris: loopbackUris([5011, 5012]), scopes: SCOPES_FULL,
      createdBy: tom!.userId, tier: 'core', connectionCap: undefined, multiOrgConsent: false,
    }),
    world.addApp({
      name: 'Harbour Payroll Bridge', type: 'pkce', redirectUris: loopbackUris([5021, 5022]),
      scopes: ['accounting.settings.read', 'accounting.contacts.read', 'payroll.employees', 'payroll.payruns'],
      createdBy: aroha!.userId, tier: 'plus', connectionCap: undefined, multiOrgConsent: false,
    }),
  ];
  orgs.forEach((org, i) => {
    if (i % 3 !== 0) return;
    const by = staff[i % staff.length]!.user;
    if (!by.roles.has(org.tenantId)) return;
    world.thirdParty.push({ tenantId: org.tenantId, appName: THIRD_PARTY[i % THIRD_PARTY.length]!, authorisedBy: by.userId });
  });
  return apps.map((a) => ({ name: a.name, clientId: a.clientId, ...(a.clientSecret ? { clientSecret: a.clientSecret } : {}) }));
}

/** Every staff member looks after orgs/staff organisations, every app may reach them all. */
function seedScale(world: World, size: { orgs: number; apps: number; staff: number }): SeededApp[] {
  const pad = (n: number, w: number) => String(n).padStart(w, '0');
  const staff = Array.from({ length: size.staff }, (_, i) =>
    world.addUser({ email: `staff${pad(i + 1, 3)}@scale.example`, givenName: 'Staff', familyName: pad(i + 1, 3) }),
  );
  for (let i = 0; i < size.orgs; i++) {
    const org = world.addOrg(`Scale Organisation ${pad(i + 1, 5)}`);
    world.setRole(staff[i % size.staff]!.userId, org.tenantId, 'adviser');
  }
  return Array.from({ length: size.apps }, (_, i) => {
    const app = world.addApp({
      name: `Scale App ${i + 1}`, type: 'pkce', redirectUris: loopbackUris([5101 + i * 10, 5102 + i * 10]),
      scopes: SCOPES_FULL, createdBy: null, tier: 'enterprise', connectionCap: undefined, multiOrgConsent: true,
    });
    return { name: app.name, clientId: app.clientId };
  });
}

/** The `scale` seed's sizes when none are given (the schema fills the same values into a partial `scale`). */
const DEFAULT_SCALE = { orgs: 2000, apps: 5, staff: 40 } as const;

/** Builds the requested world into an empty one. */
export function applySeed(world: World, request: z.output<typeof seedSchema>): SeedSummary {
  const random = world.ids;
  // Ids derive from the sizes actually used, so `{seed: "scale"}` and `{seed: "scale", scale: {}}` match.
  const size = request.scale ?? DEFAULT_SCALE;
  world.ids = seededIds(request.seed === 'scale' ? `scale:${JSON.stringify(size)}` : request.seed);
  let apps: SeededApp[] = [];
  try {
    if (request.seed === 'demo') apps = seedDemo(world);
    if (request.seed === 'scale') apps = seedScale(world, size);
  } finally {
    world.ids = random;
  }
  return { seed: request.seed, orgs: world.orgs.size, users: world.users.size, apps, connections: world.connections.size };
}
