import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ConnectReport } from '../../shared/api.js';
import type { App } from '../../shared/domain.js';
import { SystemClock, type Clock, type TimerHandle } from '../../main/core/clock.js';
import type { Keychain } from '../../main/secrets/keychain.js';
import { NapiKeychain } from '../../main/secrets/napi-keyring.js';
import { createRelink, localProfile } from '../../main/app/create-relink.js';
import type { RelinkService, ServiceOptions } from '../../main/service/relink-service.js';
import { ConfBackend } from '../../main/store/document-file.js';
import { freePorts } from '../main/oauth/support.js';
import { followAuthorize } from './headless-browser.js';
import type { TestSandbox } from './sandbox.js';

/**
 * Integration harness for RelinkService: a real service (ConfBackend in a temporary data folder, the REAL OS
 * keychain under a service name unique to the test) driving the Xero sandbox over loopback HTTP.
 *
 * Real-keychain tests must be skipped, visibly, where there is no Secret Service: use
 * `it.skipIf(!HAS_SECRET_SERVICE)(name + NO_KEYCHAIN, …)`.
 */
export const HAS_SECRET_SERVICE = process.platform === 'linux' ? Boolean(process.env.DBUS_SESSION_BUS_ADDRESS) : true;
export const NO_KEYCHAIN = HAS_SECRET_SERVICE
  ? ''
  : ' [SKIPPED: no Secret Service — DBUS_SESSION_BUS_ADDRESS is not set; run via `bash .ci/with-keyring.sh npx vitest run`]';

/** The system clock moved by a fixed offset: the service's side of "61 days passed" without waiting. */
export class OffsetClock implements Clock {
  readonly #base = new SystemClock();
  constructor(public offsetMs = 0) {}
  now(): number {
    return this.#base.now() + this.offsetMs;
  }
  monotonic(): number {
    return this.#base.monotonic();
  }
  setTimer(callback: () => void, delayMs: number): TimerHandle {
    return this.#base.setTimer(callback, delayMs);
  }
  clearTimer(handle: TimerHandle): void {
    this.#base.clearTimer(handle);
  }
}

export interface SandboxApp {
  clientId: string;
  clientSecret: string | null;
  ports: number[];
}

/** Registers an app in the sandbox whose redirect URIs are free loopback ports. */
export async function sandboxApp(
  sb: TestSandbox,
  opts: { type?: 'pkce' | 'web'; multiOrgConsent?: boolean; scopes?: string[]; createdBy?: string; name?: string } = {},
): Promise<SandboxApp> {
  const ports = await freePorts(3);
  const app = await sb.control('POST', '/sandbox/apps', {
    name: opts.name ?? `App ${randomBytes(3).toString('hex')}`,
    type: opts.type ?? 'pkce',
    redirectUris: ports.map((p) => `http://127.0.0.1:${p}/callback`),
    multiOrgConsent: opts.multiOrgConsent ?? true,
    tier: 'advanced',
    ...(opts.scopes ? { scopes: opts.scopes } : {}),
    ...(opts.createdBy ? { createdBy: opts.createdBy } : {}),
  });
  return { clientId: app.clientId, clientSecret: app.clientSecret ?? null, ports };
}

export interface Firm {
  tenantIds: string[];
  orgNames: string[];
  userId: string;
  email: string;
}

/** `orgs` organisations and one adviser (Ada Adviser) in all of them. */
export async function sandboxFirm(sb: TestSandbox, orgs = 3, person: { givenName?: string; familyName?: string } = {}): Promise<Firm> {
  const tenantIds: string[] = [];
  const orgNames: string[] = [];
  for (let i = 0; i < orgs; i++) {
    const name = `Client ${i + 1} ${randomBytes(2).toString('hex')}`;
    const { tenantId } = await sb.control('POST', '/sandbox/orgs', { name });
    tenantIds.push(tenantId);
    orgNames.push(name);
  }
  const email = `adviser-${randomBytes(4).toString('hex')}@firm.example`;
  const { userId } = await sb.control('POST', '/sandbox/users', {
    email,
    givenName: person.givenName ?? 'Ada',
    familyName: person.familyName ?? 'Adviser',
  });
  for (const t of tenantIds) await sb.control('PUT', `/sandbox/users/${userId}/orgs/${t}`, { role: 'adviser' });
  return { tenantIds, orgNames, userId, email };
}

export interface Harness {
  dataDir: string;
  keychainService: string;
  keychain: Keychain;
  /** Opens (or reopens) the service on the same data folder and keychain service. */
  open(extra?: Partial<ServiceOptions>): Promise<RelinkService>;
  /** Adds the sandbox app to the service (web apps with their secret). */
  addApp(service: RelinkService, app: SandboxApp, extra?: { scopes?: string[]; multiOrgConsent?: boolean; name?: string; createdBy?: string }): Promise<App>;
  /** Arranges a consent in the sandbox and runs Relink's connect through the headless browser. */
  connect(service: RelinkService, app: App, userId: string, tenantIds: string[], opts?: { expectStaffId?: string; expectTenantIds?: string[] }): Promise<ConnectReport>;
  /** Authorization codes that reached Relink's loopback callback. */
  readonly codes: string[];
  /** Closes every service it opened, deletes the keychain entries and the data folder. */
  dispose(): Promise<void>;
}

export function createHarness(sb: TestSandbox, base: { keychain?: Keychain; clock?: Clock; fetch?: typeof fetch; timeoutMs?: number } = {}): Harness {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-service-'));
  const keychainService = `Relink-it-${process.pid}-${randomBytes(6).toString('hex')}`;
  const keychain = base.keychain ?? new NapiKeychain();
  const opened: RelinkService[] = [];
  const codes: string[] = [];
  const accounts = new Set<string>();

  const h: Harness = {
    dataDir,
    keychainService,
    keychain,
    codes,
    async open(extra = {}) {
      const service = await createRelink({
        storage: localProfile({ dataDir, keychainService, keychain, backend: new ConfBackend(dataDir) }),
        clock: base.clock ?? new SystemClock(),
        actor: 'cli',
        ...(base.fetch ? { fetch: base.fetch } : {}),
        ...(base.timeoutMs ? { timeoutMs: base.timeoutMs } : {}),
        ...extra,
      });
      opened.push(service);
      return service;
    },
    async addApp(service, app, extra = {}) {
      const added = await service.addApp(
        {
          name: extra.name ?? `Relink app ${randomBytes(3).toString('hex')}`,
          clientId: app.clientId,
          authType: app.clientSecret ? 'web' : 'pkce',
          issuer: sb.origin,
          redirectPorts: app.ports,
          multiOrgConsent: extra.multiOrgConsent ?? true,
          ...(extra.scopes ? { scopes: extra.scopes } : {}),
          ...(extra.createdBy ? { createdBy: extra.createdBy } : {}),
        },
        app.clientSecret,
      );
      if (app.clientSecret) accounts.add(`app-secret:${added.id}`);
      return added;
    },
    async connect(service, app, userId, tenantIds, opts = {}) {
      await sb.control('POST', '/sandbox/consents', { clientId: app.clientId, userId, tenantIds });
      const report = await service.connect(app.id, {
        open: async (url) => {
          const r = await followAuthorize(url);
          const code = new URL(r.url).searchParams.get('code');
          if (code) codes.push(code);
        },
        timeoutMs: 10_000,
        ...(opts.expectStaffId ? { expectStaffId: opts.expectStaffId } : {}),
        ...(opts.expectTenantIds ? { expectTenantIds: opts.expectTenantIds } : {}),
      });
      accounts.add(`grant:${report.grantId}`);
      return report;
    },
    async dispose() {
      for (const s of opened.splice(0)) await s.close().catch(() => undefined);
      for (const account of accounts) await keychain.delete(keychainService, account).catch(() => false);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return h;
}

/** Every file under `dir` (recursively), with its content as text. */
export function filesUnder(dir: string): Array<{ path: string; text: string }> {
  const out: Array<{ path: string; text: string }> = [];
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) out.push({ path: full, text: fs.readFileSync(full, 'utf8') });
    }
  };
  walk(dir);
  return out;
}
