import { z } from 'zod';
import { isAesKey } from '../dingtalk/crypto';
import { LOCALES } from '../i18n/locale';
import { ValidationError } from '../errors';
import { issueList } from './validation';

/** A tenant id: it is part of the public URLs, and anything else is no tenant (never looked up). */
export const TENANT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Edition defaults, the one place they live. QPS per app per API and calls per organisation per
 * month, from Flashduty's DingTalk integration guide (the product's seed). DingTalk's own page on API
 * call limits has since lowered the standard edition (docs/dingtalk-api.md, "Limits"): a tenant's
 * `qps` / `monthlyQuota` override these, and a quota refusal below the configured figure is recorded
 * and reported (observedLimit).
 */
export const EDITIONS = {
  standard: { qps: 20, monthlyQuota: 10_000 },
  professional: { qps: 40, monthlyQuota: 500_000 },
  exclusive: { qps: 60, monthlyQuota: 5_500_000 },
} as const;

export type Edition = keyof typeof EDITIONS;

const id = (what: string) => z.string().trim().min(1, `${what} is required`).max(128);
const aesKey = z.string().refine(isAesKey, 'aesKey must be 43 characters of the Base64 alphabet');
const token = z.string().regex(/^[A-Za-z0-9]{3,32}$/, 'token must be 3-32 letters and digits (the console\'s Signature Token)');
/** A replaced aesKey or token, still accepted by the callback until `until` (ISO time): see lib/callback/rotation.ts. */
const previous = <T extends z.ZodTypeAny>(secret: T) => z.object({ value: secret, until: z.iso.datetime() }).strict();

/** The tenant record contract (docs/DESIGN.md). Unknown keys are rejected so typos do not pass silently. */
export const tenantSchema = z
  .object({
    tenantId: z.string().regex(TENANT_ID_PATTERN, 'tenantId: 1-64 letters, digits, _ or -'),
    corpId: id('corpId'),
    agentId: z.union([z.string().min(1), z.number().int().positive()]).transform(String),
    clientId: id('clientId'),
    clientSecret: id('clientSecret'),
    aesKey,
    token,
    previousAesKey: previous(aesKey).optional(),
    previousToken: previous(token).optional(),
    edition: z.enum(['standard', 'professional', 'exclusive']),
    qps: z.number().int().positive().max(10_000).optional(),
    monthlyQuota: z.number().int().nonnegative().optional(),
    warRoomTemplateId: z.string().min(1).optional(),
    warRoomBotId: z.string().min(1).optional(),
    /** The tenant's published interactive card template (docs/two-way.md): pages about an incident become cards that follow it. */
    cardTemplateId: z.string().min(1).max(128).optional(),
    /** How button presses reach Flashduty: the outbound actions queue (default) or the Flashduty Open API with the tenant's APP Key. */
    actionsVia: z.enum(['queue', 'api']).optional(),
    /** The tenant's Flashduty APP Key (docs/flashduty-api.md §0), a secret: needed with `actionsVia: "api"`. */
    flashdutyAppKey: z.string().trim().min(1, 'flashdutyAppKey must not be empty').max(256).optional(),
    /** Language of the bridge's own words in DingTalk messages; unset is `zh-CN` (lib/i18n). */
    locale: z.enum(LOCALES).optional(),
  })
  .strict();

export type Tenant = z.infer<typeof tenantSchema>;

/** The limits in force for a tenant: its overrides, else its edition's defaults. */
export function limitsOf(tenant: Pick<Tenant, 'edition' | 'qps' | 'monthlyQuota'>): { qps: number; monthlyQuota: number } {
  const d = EDITIONS[tenant.edition];
  return { qps: tenant.qps ?? d.qps, monthlyQuota: tenant.monthlyQuota ?? d.monthlyQuota };
}

/** The fields that hold secrets: never taken from argv, never printed. */
export const SECRET_FIELDS = ['clientSecret', 'aesKey', 'token', 'flashdutyAppKey'] as const;

/** The secret fields a tenant may leave out (`field=` removes one). */
export const OPTIONAL_SECRET_FIELDS: readonly string[] = ['flashdutyAppKey'];

/** A copy safe to print: secrets replaced by a mask showing "****" (a previous one keeps its `until`). */
export function maskTenant(tenant: Tenant): Record<string, unknown> {
  const out: Record<string, unknown> = { ...tenant };
  for (const f of SECRET_FIELDS) {
    if (tenant[f] === undefined && OPTIONAL_SECRET_FIELDS.includes(f)) continue;
    out[f] = tenant[f] ? '****' : '';
  }
  for (const f of ['previousAesKey', 'previousToken'] as const) {
    if (tenant[f]) out[f] = { value: '****', until: tenant[f].until };
  }
  return out;
}

/**
 * Validates a tenant record; throws {@link ValidationError} listing every bad field.
 *
 * @example
 * const tenant = parseTenant(JSON.parse(readFileSync('tenant.json', 'utf8')));
 */
export function parseTenant(input: unknown): Tenant {
  const r = tenantSchema.safeParse(input);
  if (!r.success) {
    const issues = issueList(r.error.issues);
    throw new ValidationError(`invalid tenant record: ${issues.join('; ')}`, issues);
  }
  // docs/two-way.md, "Actions to Flashduty": the Open API needs the tenant's APP Key.
  if (r.data.actionsVia === 'api' && !r.data.flashdutyAppKey) {
    const issue = 'actionsVia: "api" needs flashdutyAppKey (the Flashduty APP Key the bridge calls the Open API with); set it, or use actionsVia "queue"';
    throw new ValidationError(`invalid tenant record: ${issue}`, [issue]);
  }
  return r.data;
}
