import { createHmac, timingSafeEqual } from 'node:crypto';
import { memberIdSchema } from '../contracts/notifyMessage';
import { LINK_PAGE_ROUTE, pathFor } from '../contracts/routes';
import { TENANT_ID_PATTERN } from '../contracts/tenant';
import { BridgeError } from '../errors';
import { ensureLinkKey, getLinkKey } from '../store/linkSecrets';
import { isLinkUrlUsed } from '../store/links';
import type { Table } from '../store/table';

/**
 * Signed link URLs (docs/two-way.md, "Linking"):
 * `<PUBLIC_URL>/link/<tenantId>?m=<memberId>&e=<expiry, epoch s>&s=<signature>`, the signature
 * base64url(HMAC-SHA256(key, `<tenantId>.<memberId>.<e>`)) with the tenant's `SECRET#LINK#` key.
 * The URL names the member; whoever opens it inside DingTalk becomes that member's DingTalk user,
 * so it is sent to that member only, it expires, and it links once (a forwarded URL cannot replace
 * the member's pairing later).
 */

/** How long a link URL is valid by default. */
export const DEFAULT_LINK_DAYS = 7;
/** The longest validity a link URL may be given. */
export const MAX_LINK_DAYS = 90;

/** The parameters a link URL carries. */
export interface LinkParams {
  m: string;
  e: string;
  s: string;
}

/** A link URL that does not check out: malformed, tampered with, another tenant's, or never minted. */
export class LinkInvalidError extends BridgeError {
  constructor(reason: string) {
    super(`this link is not valid (${reason}): ask Flashduty for a new one`, 400, 'link_invalid');
  }
}

/** A genuine link URL past its expiry. */
export class LinkExpiredError extends BridgeError {
  constructor() {
    super('this link has expired: ask Flashduty for a new one', 410, 'link_expired');
  }
}

/** A genuine link URL that already linked someone: each URL links once. */
export class LinkUsedError extends BridgeError {
  constructor() {
    super('this link was already used: ask Flashduty for a new one', 410, 'link_used');
  }
}

const EXPIRY = /^[1-9][0-9]{0,11}$/;
/** base64url of 32 bytes, unpadded. */
const SIGNATURE = /^[A-Za-z0-9_-]{43}$/;

/**
 * The signature of a link (pure).
 *
 * @example
 * linkSignature(key, 'acme', '2476444212131', 1900000000) // 43 base64url characters
 */
export function linkSignature(key: Buffer, tenantId: string, memberId: string, expiresAt: number | string): string {
  return createHmac('sha256', key).update(`${tenantId}.${memberId}.${expiresAt}`, 'utf8').digest('base64url');
}

/** The link's parameters, well formed, or {@link LinkInvalidError} (nothing read, nothing compared). */
export function parseLinkParams(p: Partial<Record<keyof LinkParams, unknown>>): LinkParams {
  const { m, e, s } = p;
  if (typeof m !== 'string' || !memberIdSchema.safeParse(m).success) throw new LinkInvalidError('no member');
  if (typeof e !== 'string' || !EXPIRY.test(e)) throw new LinkInvalidError('no expiry');
  if (typeof s !== 'string' || !SIGNATURE.test(s)) throw new LinkInvalidError('no signature');
  return { m, e, s };
}

/**
 * Checks a link's parameters against the tenant's key (pure): the signature first (compared in
 * constant time), then the expiry, so a changed expiry is "invalid", not "expired". Returns the
 * member id and the expiry; throws {@link LinkInvalidError} or {@link LinkExpiredError}.
 *
 * @example
 * checkLink(key, 'acme', { m, e, s }, Date.now() / 1000) // { memberId: m, expiresAt: Number(e) }
 */
export function checkLink(key: Buffer | undefined, tenantId: string, p: Partial<Record<keyof LinkParams, unknown>>, nowSeconds: number): { memberId: string; expiresAt: number } {
  const { m, e, s } = parseLinkParams(p);
  if (!key || !TENANT_ID_PATTERN.test(tenantId)) throw new LinkInvalidError('unknown integration');
  const expected = Buffer.from(linkSignature(key, tenantId, m, e), 'utf8');
  const given = Buffer.from(s, 'utf8');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw new LinkInvalidError('bad signature');
  if (Number(e) <= nowSeconds) throw new LinkExpiredError();
  return { memberId: m, expiresAt: Number(e) };
}

/**
 * Verifies a link against the tenant's stored key (one GetItem), then that it was not used (one
 * more); throws like {@link checkLink}, or {@link LinkUsedError}.
 *
 * @example
 * const { memberId } = await verifyLink(table, tenantId, event.queryStringParameters ?? {}, Date.now());
 */
export async function verifyLink(table: Table, tenantId: string, p: Partial<Record<keyof LinkParams, unknown>>, nowMs: number): Promise<{ memberId: string; expiresAt: number }> {
  parseLinkParams(p); // a malformed URL is refused before the table is read
  const key = TENANT_ID_PATTERN.test(tenantId) ? await getLinkKey(table, tenantId) : undefined;
  const link = checkLink(key, tenantId, p, Math.floor(nowMs / 1000));
  if (await isLinkUrlUsed(table, tenantId, p.s as string)) throw new LinkUsedError();
  return link;
}

/**
 * Mints a member's link URL, creating the tenant's key on first use.
 *
 * @example
 * await mintLinkUrl(table, { publicUrl: 'https://api.example.com', tenantId: 'acme', memberId: '2476444212131', nowMs: Date.now() })
 * // 'https://api.example.com/link/acme?m=2476444212131&e=1900604800&s=…'
 */
export async function mintLinkUrl(table: Table, opts: { publicUrl: string; tenantId: string; memberId: string; nowMs: number; days?: number }): Promise<{ url: string; expiresAt: number }> {
  const days = opts.days ?? DEFAULT_LINK_DAYS;
  if (!(days > 0 && days <= MAX_LINK_DAYS)) throw new BridgeError(`days must be more than 0 and at most ${MAX_LINK_DAYS}`, 2, 'usage');
  if (!memberIdSchema.safeParse(opts.memberId).success) throw new BridgeError(`${opts.memberId} is not a Flashduty member id (digits)`, 2, 'usage');
  if (!TENANT_ID_PATTERN.test(opts.tenantId)) throw new BridgeError(`${opts.tenantId} is not a tenant id`, 2, 'usage');
  const key = await ensureLinkKey(table, opts.tenantId, opts.nowMs);
  const expiresAt = Math.floor(opts.nowMs / 1000 + days * 86_400);
  const query = new URLSearchParams({ m: opts.memberId, e: String(expiresAt), s: linkSignature(key, opts.tenantId, opts.memberId, expiresAt) });
  return { url: `${opts.publicUrl.replace(/\/+$/, '')}${pathFor(LINK_PAGE_ROUTE, opts.tenantId)}?${query}`, expiresAt };
}
