import { z } from 'zod';

/**
 * Every behaviour Xero does not document for certain is a switch (see shared/reference/xero-protocol.md §12).
 * Defaults follow the most likely real behaviour; tests flip them to prove the client copes either way.
 */
export const TIERS = ['starter', 'core', 'plus', 'advanced', 'enterprise'] as const;
export type Tier = (typeof TIERS)[number];

const capSchema = z.number().int().min(0).nullable();
const dayLimit = z.number().int().positive();

export const settingsSchema = z
  .object({
    /** How long a rotated refresh token stays usable if the response was lost (Xero: 30 minutes). */
    graceSeconds: z.number().int().min(0).max(86_400),
    /**
     * What a grace-period reuse returns: `new-pair` issues a fresh refresh token and keeps both chains alive;
     * `same-pair` returns the refresh token the first use already produced.
     */
    graceReuse: z.enum(['new-pair', 'same-pair']),
    /** Unused refresh tokens die after this many days (Xero: 60). */
    refreshTokenIdleDays: z.number().positive().max(3650),
    accessTokenSeconds: z.number().int().positive(),
    idTokenSeconds: z.number().int().positive(),
    codeSeconds: z.number().int().positive(),
    /** Whether a password change revokes every refresh token the user holds (widely reported, unconfirmed). */
    passwordChangeRevokesGrants: z.boolean(),
    /** Whether an earlier refresh-token chain survives a new consent by the same user for the same app. */
    reauthKeepsOldRefreshToken: z.boolean(),
    /** Whether organisations picked again on a re-consent take the new authEventId. */
    reauthUpdatesAuthEventId: z.boolean(),
    /** Whether a user's refresh tokens for an app die when their last connection to it is removed. */
    lastConnectionRemovalRevokesGrant: z.boolean(),
    /** Redirect URI matching on loopback: `exact` (IdentityServer's default) or RFC 8252 `any-port`. */
    redirectPortMatching: z.enum(['exact', 'any-port']),
    /** Whether `127.0.0.1` and `localhost` redirect URIs match each other. */
    loopbackHostsEquivalent: z.boolean(),
    /** Whether the authorize endpoint refuses a request without `state` (Xero: optional; we default strict). */
    requireState: z.boolean(),
    /** HTTP status of `invalid_client` from the token endpoint (unconfirmed: 400 or 401). */
    invalidClientStatus: z.union([z.literal(400), z.literal(401)]),
    /** Seconds added to the sandbox's clock as others see it: JWT iat/nbf/exp and the `Date` header. */
    clockSkewSeconds: z.number().int().min(-86_400).max(86_400),
    /** Connection caps per tier (null = no cap). */
    tierCaps: z
      .object({ starter: capSchema, core: capSchema, plus: capSchema, advanced: capSchema, enterprise: capSchema })
      .strict(),
    /** API calls per tenant and app per day, by tier. */
    dayLimits: z
      .object({ starter: dayLimit, core: dayLimit, plus: dayLimit, advanced: dayLimit, enterprise: dayLimit })
      .strict(),
    minuteLimit: z.number().int().positive(),
    concurrentLimit: z.number().int().positive(),
    appMinuteLimit: z.number().int().positive(),
    /** Artificial latency of accounting API calls, so that concurrency limits can be reached on loopback. */
    apiLatencyMs: z.number().int().min(0).max(60_000),
    /** How long a `timeout` or `drop-response` fault holds the socket open before closing it. */
    hangSeconds: z.number().min(0.1).max(3600),
  })
  .strict();

export type SandboxSettings = z.infer<typeof settingsSchema>;

export function defaultSettings(): SandboxSettings {
  return {
    graceSeconds: 1800,
    graceReuse: 'new-pair',
    refreshTokenIdleDays: 60,
    accessTokenSeconds: 1800,
    idTokenSeconds: 300,
    codeSeconds: 300,
    passwordChangeRevokesGrants: true,
    reauthKeepsOldRefreshToken: true,
    reauthUpdatesAuthEventId: true,
    lastConnectionRemovalRevokesGrant: true,
    redirectPortMatching: 'exact',
    loopbackHostsEquivalent: false,
    requireState: true,
    invalidClientStatus: 400,
    clockSkewSeconds: 0,
    tierCaps: { starter: 5, core: 50, plus: 1000, advanced: 10_000, enterprise: null },
    dayLimits: { starter: 1000, core: 5000, plus: 5000, advanced: 5000, enterprise: 5000 },
    minuteLimit: 60,
    concurrentLimit: 5,
    appMinuteLimit: 10_000,
    apiLatencyMs: 0,
    hangSeconds: 120,
  };
}

/** A partial update; nested objects merge key by key. Unknown keys are refused at every level, so a typo such
 * as `{"dayLimits": {"Starter": 3}}` is an error rather than a silent no-op. */
export const settingsPatchSchema = settingsSchema
  .extend({
    tierCaps: settingsSchema.shape.tierCaps.partial().strict(),
    dayLimits: settingsSchema.shape.dayLimits.partial().strict(),
  })
  .partial()
  .strict();

export type SettingsPatch = z.infer<typeof settingsPatchSchema>;

export function applySettingsPatch(current: SandboxSettings, patch: SettingsPatch): SandboxSettings {
  return {
    ...current,
    ...patch,
    tierCaps: { ...current.tierCaps, ...patch.tierCaps },
    dayLimits: { ...current.dayLimits, ...patch.dayLimits },
  } as SandboxSettings;
}
