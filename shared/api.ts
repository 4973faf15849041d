import { z } from 'zod';
import { CAUSES, CONFIDENCES, HEALTH_STATES, STAFF_STATUSES, fixSchema } from './domain.js';

/**
 * The API contract between Relink's service and its hosts (the CLI today; the Electron window and browser
 * mode next). Every payload that leaves the main process is validated against these schemas, and none of them
 * has a field that could carry a token or secret.
 */

const iso = z.iso.datetime({ offset: true });

export const statusSnapshotSchema = z
  .object({
    generatedAt: iso,
    keychain: z.enum(['available', 'locked', 'unavailable']),
    apps: z.array(
      z
        .object({
          id: z.string(),
          name: z.string(),
          clientId: z.string(),
          authType: z.enum(['pkce', 'web']),
          connectionCap: z.number().int().nullable(),
          connectionCount: z.number().int(),
          multiOrgConsent: z.boolean(),
          createdBy: z.string().nullable(),
          credentialState: z.enum(['ok', 'rejected', 'unchecked']),
        })
        .strict(),
    ),
    staff: z.array(
      z.object({ id: z.string(), email: z.string(), name: z.string(), status: z.enum(STAFF_STATUSES) }).strict(),
    ),
    grants: z.array(
      z
        .object({
          id: z.string(),
          appId: z.string(),
          staffId: z.string(),
          health: z.enum(HEALTH_STATES),
          cause: z.enum(CAUSES).nullable(),
          lastRefreshAt: iso.nullable(),
          refreshTokenExpiresAt: iso,
          daysLeft: z.number().int(),
          lastFailure: z.string().nullable(),
        })
        .strict(),
    ),
    connections: z.array(
      z
        .object({
          id: z.string(),
          appId: z.string(),
          orgId: z.string(),
          orgName: z.string(),
          grantId: z.string(),
          staffId: z.string(),
          health: z.enum(HEALTH_STATES),
          cause: z.enum(CAUSES).nullable(),
          confidence: z.enum(CONFIDENCES).nullable(),
          since: iso.nullable(),
          fix: z.string().nullable(),
        })
        .strict(),
    ),
    incidents: z.array(
      z
        .object({
          id: z.string(),
          cause: z.enum(CAUSES),
          confidence: z.enum(CONFIDENCES),
          staffId: z.string().nullable(),
          appId: z.string().nullable(),
          connectionCount: z.number().int(),
          organisationCount: z.number().int(),
          summary: z.string(),
          evidence: z.array(z.string()),
          fix: fixSchema,
          openedAt: iso,
        })
        .strict(),
    ),
  })
  .strict();
export type StatusSnapshot = z.infer<typeof statusSnapshotSchema>;

export const addAppInputSchema = z
  .object({
    name: z.string().trim().min(1, 'Give the app a name.').max(200),
    clientId: z.string().trim().min(1, 'The client id is required (Xero developer portal → My Apps → your app → Configuration).').max(200),
    authType: z.enum(['pkce', 'web']),
    issuer: z.url().optional(),
    apiBase: z.url().optional(),
    redirectPorts: z.array(z.number().int().min(1024).max(65_535)).min(1).max(20).optional(),
    scopes: z.array(z.string().regex(/^[a-z_.]+$/i, 'Scopes are words like accounting.settings, separated by spaces.')).min(1).optional(),
    connectionCap: z.number().int().min(0).nullable().optional(),
    multiOrgConsent: z.boolean().optional(),
    createdBy: z.string().nullable().optional(),
  })
  .strict();
export type AddAppInput = z.infer<typeof addAppInputSchema>;

export const connectReportSchema = z
  .object({
    appId: z.string(),
    grantId: z.string(),
    staff: z.object({ id: z.string(), email: z.string(), name: z.string() }).strict(),
    /** Organisations this consent connected for the first time. */
    connected: z.array(z.object({ tenantId: z.string(), name: z.string() }).strict()),
    /** Organisations that were known before and are reachable again. */
    reconnected: z.array(z.object({ tenantId: z.string(), name: z.string() }).strict()),
    /** Organisations expected back that Xero does not list for this grant, and why. */
    stillMissing: z.array(z.object({ tenantId: z.string(), name: z.string(), reason: z.string() }).strict()),
    /** Set when someone other than the expected staff member approved. */
    warning: z.string().nullable(),
  })
  .strict();
export type ConnectReport = z.infer<typeof connectReportSchema>;
