import { readJsonBody } from '../http/json';
import { CARD_ACTIONS, type CardAction } from '../contracts/notifyMessage';
import { MAX_SNOOZE_MINUTES } from '../contracts/actionsMessage';
import { MAX_CALLBACK_BODY_BYTES } from '../contracts/routes';
import { ValidationError } from '../errors';

/**
 * A card button press as DingTalk posts it (docs/dingtalk-api.md §9.4): `{type: "actionCallback",
 * outTrackId, corpId, userId, content}`, `content` (or `value`, CG's older name) a JSON string
 * `{"cardPrivateData": {"actionIds": [..], "params": {"action": .., "minutes": ..}}}` whose params
 * are the button's (docs/two-way.md, "Cards").
 */
export interface Press {
  outTrackId: string;
  corpId: string;
  userId: string;
  action: CardAction;
  /** Snooze only: 1 to 1440 (docs/flashduty-api.md §5). */
  minutes?: number;
}

const str = (o: Record<string, unknown>, k: string, max = 256): string => {
  const v = o[k];
  if (typeof v !== 'string' || !v || v.length > max) throw new ValidationError(`body.${k} must be a non-empty string (at most ${max} characters)`);
  return v;
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ValidationError(`${what} is not JSON`);
  }
}

/** The snooze minutes of a button: an integer (or its digits) from 1 to 1440. */
function snoozeMinutes(v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,4}$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_SNOOZE_MINUTES) throw new ValidationError(`snooze minutes must be a whole number from 1 to ${MAX_SNOOZE_MINUTES}`);
  return n;
}

/**
 * Reads and checks a press body; throws {@link ValidationError} (400) saying what is wrong, or
 * a PayloadTooLargeError (413).
 *
 * @example
 * readPress('{"type":"actionCallback","outTrackId":"c0","corpId":"ding1","userId":"u1","content":"{\"cardPrivateData\":{\"params\":{\"action\":\"ack\"}}}"}')
 * // { outTrackId: 'c0', corpId: 'ding1', userId: 'u1', action: 'ack' }
 */
export function readPress(body: string | undefined, isBase64Encoded = false): Press {
  const parsed = readJsonBody(body, isBase64Encoded, MAX_CALLBACK_BODY_BYTES);
  if (!isObject(parsed)) throw new ValidationError('body must be a JSON object');
  if (parsed.type !== 'actionCallback') throw new ValidationError('body.type must be "actionCallback"');
  const text = typeof parsed.content === 'string' ? parsed.content : parsed.value;
  if (typeof text !== 'string') throw new ValidationError('body.content (or body.value) must be a JSON string');
  const content = parseJson(text, 'body.content');
  const params = isObject(content) && isObject(content.cardPrivateData) ? content.cardPrivateData.params : undefined;
  if (!isObject(params)) throw new ValidationError('body.content has no cardPrivateData.params');
  const action = params.action;
  if (typeof action !== 'string' || !(CARD_ACTIONS as readonly string[]).includes(action)) throw new ValidationError(`params.action must be one of ${CARD_ACTIONS.join(', ')}`);
  const press: Press = { outTrackId: str(parsed, 'outTrackId', 128), corpId: str(parsed, 'corpId', 128), userId: str(parsed, 'userId', 128), action: action as CardAction };
  if (action === 'snooze') press.minutes = snoozeMinutes(params.minutes);
  return press;
}
