import { createHmac, timingSafeEqual } from 'node:crypto';
import { AuthError } from '../errors';

/**
 * The card callback's signature (docs/dingtalk-api.md §9.4): `x-ddpaas-signature` is
 * base64(HMAC-SHA256(key = apiSecret, message = `x-ddpaas-signature-timestamp`)). Only the
 * timestamp is signed; it is epoch milliseconds, accepted within {@link PRESS_WINDOW_MS} of now
 * (docs/two-way.md, "The card callback", step 2).
 */

export const PRESS_WINDOW_MS = 120_000;

export const SIGNATURE_HEADER = 'x-ddpaas-signature';
export const TIMESTAMP_HEADER = 'x-ddpaas-signature-timestamp';

/** base64(HMAC-SHA256(apiSecret, timestamp)). */
export const pressSignature = (apiSecret: string, timestamp: string): string => createHmac('sha256', apiSecret).update(timestamp).digest('base64');

/**
 * Checks the signature (constant time) and the timestamp window; throws {@link AuthError} (401),
 * never naming the secret or the expected signature. Returns the timestamp as signed.
 *
 * @example
 * const ts = verifyPress(apiSecret, headers, Date.now());
 */
export function verifyPress(apiSecret: string, headers: Record<string, string | undefined>, nowMs: number, windowMs: number = PRESS_WINDOW_MS): string {
  const timestamp = headers[TIMESTAMP_HEADER];
  const given = headers[SIGNATURE_HEADER];
  if (!timestamp || !given) throw new AuthError(`missing ${!timestamp ? TIMESTAMP_HEADER : SIGNATURE_HEADER} header`);
  if (!/^\d{1,16}$/.test(timestamp)) throw new AuthError(`${TIMESTAMP_HEADER} must be epoch milliseconds`);
  const expected = createHmac('sha256', apiSecret).update(timestamp).digest();
  const got = /^[A-Za-z0-9+/]+={0,2}$/.test(given) ? Buffer.from(given, 'base64') : Buffer.alloc(0);
  if (got.length !== expected.length || !timingSafeEqual(got, expected)) throw new AuthError('bad signature');
  if (Math.abs(nowMs - Number(timestamp)) > windowMs) throw new AuthError(`timestamp outside the accepted window (${windowMs / 1000} s)`);
  return timestamp;
}
