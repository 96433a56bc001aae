import { decrypt, signature, verifySignature, type AppSecrets } from '../dingtalk/crypto';
import { CryptoError } from '../errors';
import type { Tenant } from '../contracts/tenant';

/**
 * Rotating a tenant's callback secrets without downtime. DingTalk signs with the token and encrypts
 * with the aesKey configured in its console; the console and the tenant record change at different
 * moments, so for a bounded window after `aesKey` or `token` changes the replaced value is kept
 * (`previousAesKey` / `previousToken`, each with its `until`) and a push is accepted with either.
 * The answer is sealed with the token and aesKey that opened the push: they are the ones DingTalk
 * holds right now, and it checks the answer with them.
 */

/** How long a replaced secret stays accepted unless the operator says otherwise. */
export const DEFAULT_GRACE_MS = 24 * 3600 * 1000;
/** The longest a replaced secret may stay accepted. */
export const MAX_GRACE_MS = 7 * 24 * 3600 * 1000;

const ROTATED = { aesKey: 'previousAesKey', token: 'previousToken' } as const;

type Previous = Tenant['previousAesKey'];
/** What the callback holds of a tenant (its secret item): the secrets and the receiver id. */
type CallbackSecrets = Pick<Tenant, 'clientId' | 'aesKey' | 'token' | 'previousAesKey' | 'previousToken'>;
const live = (p: Previous, now: number): p is NonNullable<Previous> => p !== undefined && now < Date.parse(p.until);

/**
 * The record to store when `next` replaces `before`: a changed aesKey or token keeps the old value
 * accepted for `graceMs` (0: refused at once); an unchanged one keeps its earlier, still live,
 * previous value; an expired previous value is dropped.
 *
 * @example
 * const stored = rotateSecrets(before, { ...before, aesKey: fresh }, Date.now(), DEFAULT_GRACE_MS);
 * // stored.previousAesKey = { value: before.aesKey, until: '<now + 24 h>' }
 */
export function rotateSecrets(before: Tenant | undefined, next: Tenant, now: number, graceMs: number): Tenant {
  const out: Tenant = { ...next };
  for (const [field, prev] of Object.entries(ROTATED) as Array<[keyof typeof ROTATED, (typeof ROTATED)[keyof typeof ROTATED]]>) {
    const kept = next[prev] ?? before?.[prev];
    if (before && before[field] !== next[field]) {
      out[prev] = graceMs > 0 ? { value: before[field], until: new Date(now + graceMs).toISOString() } : undefined;
    } else {
      out[prev] = live(kept, now) && kept.value !== next[field] ? kept : undefined;
    }
    if (!out[prev]) delete out[prev];
  }
  return out;
}

/**
 * The tokens and aesKeys the callback accepts at `now`: the current one first, then the previous
 * one while its window lasts.
 *
 * @example
 * acceptedSecrets(tenant, Date.now()) // { tokens: ['new', 'old'], aesKeys: ['k1...'] }
 */
export function acceptedSecrets(tenant: CallbackSecrets, now: number): { tokens: string[]; aesKeys: string[] } {
  const tokens = [tenant.token, ...(live(tenant.previousToken, now) ? [tenant.previousToken.value] : [])];
  const aesKeys = [tenant.aesKey, ...(live(tenant.previousAesKey, now) ? [tenant.previousAesKey.value] : [])];
  return { tokens, aesKeys };
}

/**
 * Verifies and decrypts a push with any accepted token and aesKey of the tenant; returns the
 * plaintext and the secrets that opened it (to seal the answer with), and whether a previous
 * secret was needed. Throws {@link CryptoError} (401) as a single-key check would.
 *
 * @example
 * const { plaintext, app } = openPush(tenant, Date.now(), { signature, timestamp, nonce, encrypt });
 */
export function openPush(
  tenant: CallbackSecrets,
  now: number,
  fields: { signature: string; timestamp: string; nonce: string; encrypt: string },
): { plaintext: string; app: AppSecrets; previous: boolean } {
  const { tokens, aesKeys } = acceptedSecrets(tenant, now);
  const token = tokens.find((t) => verifySignature(signature(t, fields.timestamp, fields.nonce, fields.encrypt), fields.signature));
  if (token === undefined) throw new CryptoError('signature mismatch');
  let failure: CryptoError | undefined;
  for (const aesKey of aesKeys) {
    let opened;
    try {
      opened = decrypt(aesKey, fields.encrypt);
    } catch (e) {
      failure ??= e as CryptoError;
      continue;
    }
    // A key that decrypts but names another receiver is the more telling failure.
    if (opened.receiverId !== tenant.clientId) failure = new CryptoError('receiver id mismatch');
    else return { plaintext: opened.message, app: { token, aesKey, receiverId: tenant.clientId }, previous: token !== tenant.token || aesKey !== tenant.aesKey };
  }
  throw failure!;
}
