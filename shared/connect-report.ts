import { z } from 'zod';

/**
 * What one consent brought back. Its own module because both shared/api.ts and shared/workflows.ts need it and
 * api.ts imports workflows.ts: defined in api.ts it made a module cycle that fails under real ES modules
 * (tsx, Playwright) with "Cannot access 'connectReportSchema' before initialization".
 */
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
