import { readJsonBody } from '../http/json';
import { randomBytes, createHash } from 'node:crypto';
import { MAX_CALLBACK_BODY_BYTES } from '../contracts/routes';
import { sealEnvelope, type Envelope } from '../dingtalk/crypto';
import { AuthError, NotFoundError, ValidationError } from '../errors';
import type { QueuedEvent } from '../contracts/eventsMessage';
import type { CallbackApp } from '../store/secrets';
import { getField } from '../util/fields';
import { openPush } from './rotation';

export interface CallbackRequest {
  tenantId: string;
  query: Record<string, string | undefined>;
  body: string | undefined;
  isBase64Encoded?: boolean;
}

export interface CallbackDeps {
  /** The tenant's callback secrets (lib/store/secrets.ts), undefined for an unknown tenant. */
  getTenant(tenantId: string): Promise<CallbackApp | undefined>;
  enqueue(event: QueuedEvent): Promise<void>;
  now(): number;
  windowSeconds: number;
}

export interface CallbackOutcome {
  envelope: Envelope;
  eventType: string;
  eventId?: string;
  queued: boolean;
  /** The push was opened with the tenant's previous token or aesKey (a rotation under way). */
  previousSecret: boolean;
}

/** DingTalk sends 13-digit milliseconds; older samples use seconds. Returns ms, or NaN. */
export function timestampMs(ts: string): number {
  if (!/^\d{1,16}$/.test(ts)) return NaN;
  const n = Number(ts);
  return n >= 1e12 ? n : n * 1000;
}

function readQuery(q: CallbackRequest['query']) {
  const signature = q.msg_signature ?? q.signature;
  const timestamp = q.timestamp ?? q.timeStamp;
  const nonce = q.nonce;
  const missing = [!signature && 'msg_signature', !timestamp && 'timestamp', !nonce && 'nonce'].filter(Boolean) as string[];
  if (missing.length) throw new ValidationError(`missing query parameter: ${missing.join(', ')}`);
  if (!/^[0-9a-fA-F]{40}$/.test(signature!)) throw new ValidationError('msg_signature must be 40 hex characters');
  return { signature: signature!, timestamp: timestamp!, nonce: nonce! };
}

function readEncrypt(req: CallbackRequest): string {
  const parsed = readJsonBody(req.body, req.isBase64Encoded, MAX_CALLBACK_BODY_BYTES);
  const encrypt = (parsed as { encrypt?: unknown })?.encrypt;
  if (typeof encrypt !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(encrypt)) {
    throw new ValidationError('body must be {"encrypt": "<base64>"}');
  }
  return encrypt;
}

/**
 * The callback's core: verify, decrypt, answer check_url at once, queue every other event, and
 * return the encrypted `success` envelope. Throws typed errors (400/401/404/413); nothing is queued
 * unless every check passed.
 *
 * @example
 * const out = await handleCallback(deps, { tenantId, query, body });
 */
export async function handleCallback(deps: CallbackDeps, req: CallbackRequest): Promise<CallbackOutcome> {
  const query = readQuery(req.query);
  const encrypt = readEncrypt(req);
  const tenant = await deps.getTenant(req.tenantId);
  if (!tenant) throw new NotFoundError('unknown tenant');

  const ts = timestampMs(query.timestamp);
  if (!Number.isFinite(ts) || Math.abs(deps.now() - ts) > deps.windowSeconds * 1000) {
    throw new AuthError('timestamp outside the accepted window');
  }
  const { plaintext, app, previous } = openPush(tenant, deps.now(), { ...query, encrypt });

  let event: Record<string, unknown>;
  try {
    event = JSON.parse(plaintext);
  } catch {
    throw new ValidationError('decrypted payload is not JSON');
  }
  if (typeof event !== 'object' || event === null || Array.isArray(event)) throw new ValidationError('decrypted payload is not an object');
  const eventType = getField(event, 'EventType');
  if (typeof eventType !== 'string' || !eventType) throw new ValidationError('decrypted payload has no EventType');

  // Sealed with what opened the push: DingTalk checks the answer with the secrets it signed with.
  const envelope = sealEnvelope(app, 'success', { timeStamp: String(deps.now()), nonce: randomBytes(6).toString('hex') });
  if (eventType === 'check_url') return { envelope, eventType, queued: false, previousSecret: previous };

  const given = getField(event, 'eventId');
  const eventId = typeof given === 'string' && given ? given : `sha256:${createHash('sha256').update(plaintext).digest('hex').slice(0, 32)}`;
  await deps.enqueue({ tenantId: tenant.tenantId, eventId, eventType, receivedAt: new Date(deps.now()).toISOString(), event });
  return { envelope, eventType, eventId, queued: true, previousSecret: previous };
}
