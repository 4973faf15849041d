import type { z } from 'zod';
import { SandboxClock } from '../clock.js';
import type { SandboxContext } from './context.js';
import { controlApi, type ControlHost } from './control/routes.js';
import { Faults, type Fault, type FaultTarget } from './faults.js';
import { html, json, respond, type SbOutcome, type SbRequest } from '../http/types.js';
import { opaque, randomIds } from './ids.js';
import { RateLimiter } from './api/rate-limits.js';
import { accountingApi } from './api/accounting.js';
import { deleteConnection, listConnections } from './api/connections.js';
import { problem } from './api/problem.js';
import { authorize, connectionLimit, consentForm, login, submitConsent } from './identity/authorize.js';
import { ConsentRequests } from './identity/consent-requests.js';
import { discovery, jwks } from './identity/discovery.js';
import { homePage } from './identity/pages.js';
import { portalPage, rotateFromPortal, SANDBOX_PORTAL_PATH } from './portal.js';
import { revocation, userinfo } from './identity/session-endpoints.js';
import { tokenEndpoint } from './identity/token-endpoint.js';
import { applySeed, seedSchema, type SeedRequest, type SeedSummary } from './seeds.js';
import { applySettingsPatch, defaultSettings, type SandboxSettings, type settingsPatchSchema } from './settings.js';
import { SigningKey } from './signing.js';
import { World } from './world.js';

export interface SandboxOptions {
  seed?: SeedRequest;
  clock?: SandboxClock;
}

type Route = (req: SbRequest, match: string[]) => SbOutcome | Promise<SbOutcome>;

/**
 * The Xero sandbox, independent of sockets: `handle` turns a request into an outcome. One origin serves the
 * paths of Xero's three hosts (login, identity, api), and the control API lives under `/sandbox`.
 */
export class Sandbox implements SandboxContext, ControlHost {
  origin = 'http://127.0.0.1';
  settings: SandboxSettings = defaultSettings();
  world: World;
  readonly faults = new Faults();
  readonly limits: RateLimiter;
  readonly consentRequests = new ConsentRequests();
  /** Carried by the developer portal's forms, so only pages this sandbox served can generate a secret. */
  readonly #portalToken = opaque(24);
  lastSeed: SeedSummary;

  private constructor(
    readonly clock: SandboxClock,
    readonly key: SigningKey,
    seed: z.output<typeof seedSchema>,
  ) {
    this.limits = new RateLimiter(clock, () => this.settings);
    this.world = new World(randomIds(), clock, () => this.settings);
    this.lastSeed = applySeed(this.world, seed);
  }

  static async create(opts: SandboxOptions = {}): Promise<Sandbox> {
    const seed = seedSchema.parse(opts.seed ?? { seed: 'empty' });
    return new Sandbox(opts.clock ?? new SandboxClock(), await SigningKey.generate(), seed);
  }

  nowSeconds(): number {
    return this.clock.nowSeconds() + this.settings.clockSkewSeconds;
  }

  reset(request: z.output<typeof seedSchema>): SeedSummary {
    this.clock.reset();
    this.settings = defaultSettings();
    this.faults.clear();
    this.limits.reset();
    this.consentRequests.clear();
    this.world = new World(randomIds(), this.clock, () => this.settings);
    this.lastSeed = applySeed(this.world, request);
    return this.lastSeed;
  }

  updateSettings(patch: z.output<typeof settingsPatchSchema>): SandboxSettings {
    this.settings = applySettingsPatch(this.settings, patch);
    return this.settings;
  }

  readonly #routes: Array<[string, RegExp, FaultTarget | null, Route]> = [
    ['GET', /^\/$/, null, () => html(200, homePage(this.origin, this.world.orgs.size, [...this.world.users.values()], [...this.world.apps.values()]))],
    ['GET', /^\/\.well-known\/openid-configuration$/, null, () => discovery(this)],
    ['GET', /^\/\.well-known\/openid-configuration\/jwks$/, null, () => jwks(this)],
    ['GET', /^\/(?:identity\/)?connect\/authorize$/, 'authorize', (req) => authorize(this, req)],
    ['POST', /^\/identity\/login$/, null, (req) => login(this, req)],
    ['GET', /^\/connect\/authorize\/consent$/, null, (req) => consentForm(this, req)],
    ['POST', /^\/connect\/authorize\/consent$/, null, (req) => submitConsent(this, req)],
    ['GET', /^\/connectionLimit$/, null, (req) => connectionLimit(this, req)],
    ['GET', new RegExp(`^${SANDBOX_PORTAL_PATH}/?$`), null, (req) => portalPage(this, req, this.#portalToken)],
    ['POST', new RegExp(`^${SANDBOX_PORTAL_PATH}/apps/([^/]+)/secret$`), null, (req, [clientId]) => rotateFromPortal(this, req, clientId!, this.#portalToken)],
    ['POST', /^\/connect\/token$/, 'token', (req) => tokenEndpoint(this, req)],
    ['POST', /^\/connect\/revocation$/, null, (req) => revocation(this, req)],
    ['GET', /^\/connect\/userinfo$/, null, (req) => userinfo(this, req)],
    ['POST', /^\/connect\/userinfo$/, null, (req) => userinfo(this, req)],
    ['GET', /^\/connections$/i, 'connections', (req) => listConnections(this, req)],
    ['DELETE', /^\/connections\/([^/]+)$/i, 'connections', (req, [id]) => deleteConnection(this, req, id!)],
    ['GET', /^\/api\.xro\/2\.0\/(.+)$/i, 'api', (req, [resource]) => accountingApi(this, req, resource!)],
  ];

  async handle(req: SbRequest): Promise<SbOutcome> {
    const outcome = await this.#dispatch(req);
    if (outcome.kind !== 'respond') return outcome;
    // Xero's `Date` header is how a client estimates clock skew, so it follows the sandbox's clock.
    return { ...outcome, headers: { date: new Date(this.nowSeconds() * 1000).toUTCString(), ...outcome.headers } };
  }

  async #dispatch(req: SbRequest): Promise<SbOutcome> {
    const path = req.url.pathname;
    if (path.startsWith('/sandbox/')) return controlApi(this, req, this);
    const matching = this.#routes.filter(([, re]) => re.test(path));
    if (matching.length === 0) return problem(404, 'Not Found', `Nothing is served at ${path}.`);
    const route = matching.find(([method]) => method === req.method);
    if (!route) return json(405, { error: `${req.method} is not allowed on ${path}.` }, { allow: matching.map(([m]) => m).join(', ') });
    const [, re, target, handler] = route;
    let match: string[];
    try {
      match = re.exec(path)!.slice(1).map(decodeURIComponent);
    } catch {
      return problem(400, 'Bad Request', `The path ${path} is not valid percent-encoding.`);
    }
    const fault = target ? this.faults.take(target) : undefined;
    if (!fault) return handler(req, match);
    if (fault.kind === 'drop-response') {
      // The request takes effect (a refresh rotates) but its answer never arrives: the lost-response case.
      await handler(req, match);
      return { kind: 'hang' };
    }
    return faultOutcome(fault);
  }
}

const PROXY_502 =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';

/** What a fault looks like on the wire: Xero's outage texts, a proxy's HTML page, a 429, or silence. */
export function faultOutcome(fault: Fault): SbOutcome {
  switch (fault.kind) {
    case 'timeout':
      return { kind: 'hang' };
    case 'reset':
      return { kind: 'reset' };
    case 'status-500':
      return problem(500, 'An error occurred', 'An error occurred in Xero. Check the API Status page for more information.');
    case 'status-503':
      return respond(503, 'The Xero API is currently offline for maintenance', {
        'content-type': 'text/plain; charset=utf-8',
        ...(fault.retryAfter !== undefined ? { 'retry-after': String(fault.retryAfter) } : {}),
      });
    case 'html-502':
      return respond(502, PROXY_502, { 'content-type': 'text/html', server: 'nginx' });
    case 'rate-limit': {
      // Xero sends Retry-After for the minute and day limits only.
      const limit = fault.problem ?? 'minute';
      const headers: Record<string, string> = { 'x-rate-limit-problem': limit };
      if (limit === 'minute' || limit === 'day') headers['retry-after'] = String(fault.retryAfter ?? (limit === 'day' ? 3600 : 60));
      return problem(429, 'Too Many Requests', `Rate limit exceeded: ${limit}`, headers);
    }
    case 'drop-response':
      return { kind: 'hang' };
  }
}
