import { getField } from '../util/fields';
import { InvalidEventError } from './errors';

/**
 * A string field read case-insensitively (`openConversationId` / `OpenConversationId`); numbers
 * are turned into strings; blank or missing gives undefined.
 *
 * @example
 * readText({ CoolAppCode: 'COOLAPP-1' }, 'coolAppCode') // 'COOLAPP-1'
 */
export function readText(event: Record<string, unknown>, name: string): string | undefined {
  const v = getField(event, name);
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string' || v.trim() === '') return undefined;
  return v.trim();
}

/**
 * Epoch ms from what DingTalk sends as a time: ms as a number or digit string ("1764300000000"),
 * seconds (10 digits), or an ISO date. Anything else gives undefined.
 *
 * @example
 * parseTimeMs('1764300000000') // 1764300000000
 * parseTimeMs(1764300000)      // 1764300000000
 */
export function parseTimeMs(v: unknown): number | undefined {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && /^\s*\d{1,16}\s*$/.test(v)) n = Number(v);
  else if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(v)) n = Date.parse(v);
  else return undefined;
  if (!Number.isFinite(n) || n <= 0) return undefined;
  return n < 1e12 ? n * 1000 : Math.floor(n);
}

/**
 * The first of `names` that holds a usable time, else `fallbackMs`: the version an event's change
 * is compared with.
 *
 * @example
 * eventTimeMs({ operateTime: '1764300000000' }, ['operateTime', 'EventTime'], Date.now()) // 1764300000000
 */
export function eventTimeMs(event: Record<string, unknown>, names: readonly string[], fallbackMs: number): number {
  for (const name of names) {
    const t = parseTimeMs(getField(event, name));
    if (t !== undefined) return t;
  }
  return fallbackMs;
}

/** Longest openConversationId accepted (DingTalk's are about 30 characters). */
const MAX_ID_LENGTH = 256;

/**
 * The event's openConversationId; throws {@link InvalidEventError} when it is missing or absurd.
 *
 * @example
 * requireConversationId({ OpenConversationId: 'cid==' }, 'chat_update_title') // 'cid=='
 */
export function requireConversationId(event: Record<string, unknown>, eventType: string): string {
  const cid = readText(event, 'openConversationId');
  if (!cid) throw new InvalidEventError(`${eventType} event has no openConversationId`);
  if (cid.length > MAX_ID_LENGTH) throw new InvalidEventError(`${eventType} event has an openConversationId longer than ${MAX_ID_LENGTH}`);
  return cid;
}
