/**
 * A user presses a card button: the simulator sends DingTalk's card callback to the registered URL,
 * signed as docs/dingtalk-api.md §9.4 says, and applies the answer to the presser's view only.
 */
import { createHmac } from 'node:crypto';
import { isObject } from './replies';
import { canSee } from './cardSpaces';
import type { SimState } from './state';
import type { CardParams, SimCard, SimPress, SimPressResult } from './types';

/** §9.4: the app answers within 2 seconds. */
export const CALLBACK_DEADLINE_MS = 2000;

/** §9.4: base64(HMAC-SHA256(key = apiSecret, message = the timestamp as a decimal string)). */
export const cardCallbackSignature = (apiSecret: string, timestamp: string): string =>
  createHmac('sha256', apiSecret).update(timestamp).digest('base64');

/**
 * What the user sees: public data, then their private data on the variables the template marks
 * private (§9.1: elsewhere it has no effect), then what a callback answer gave them (§9.4).
 */
export function viewOf(s: SimState, card: SimCard, userId: string): CardParams | undefined {
  if (!canSee(s, card, userId, s.now())) return undefined;
  const privateParams = new Set(s.cardTemplates.get(card.clientId)?.get(card.cardTemplateId)?.privateParams ?? []);
  const own = Object.fromEntries(Object.entries(card.privateData[userId] ?? {}).filter(([k]) => privateParams.has(k)));
  return { ...card.cardData, ...own, ...card.presserData[userId] };
}

const stringsOf = (v: unknown): CardParams | undefined => {
  if (!isObject(v) || !isObject(v.cardParamMap)) return undefined;
  return Object.fromEntries(Object.entries(v.cardParamMap).filter(([, x]) => typeof x === 'string')) as CardParams;
};

export async function pressButton(s: SimState, press: SimPress): Promise<SimPressResult> {
  const card = s.cards.get(press.outTrackId);
  if (!card) throw new Error(`no card ${press.outTrackId}`);
  if (!canSee(s, card, press.userId, s.now())) throw new Error(`${press.userId} cannot see card ${press.outTrackId}`);
  // §9.4: only a card made with callbackType HTTP and a registered route key calls back over HTTP.
  const route = card.callbackType === 'HTTP' && card.callbackRouteKey ? s.routes.get(card.callbackRouteKey) : undefined;
  if (!route) throw new Error(`card ${press.outTrackId} has no HTTP callback`);
  const user = s.corps.get(card.corpId)?.users.get(press.userId);
  if (!user) throw new Error(`no user ${press.userId}`);
  // §9.4: type, outTrackId, corpId, userId (a unionId when the card used userIdType 2), content as a JSON string.
  const body = {
    type: 'actionCallback', outTrackId: card.outTrackId, corpId: card.corpId,
    userId: card.userIdType === 2 ? user.unionId : user.userId,
    content: JSON.stringify({ cardPrivateData: { actionIds: [press.actionId], params: press.params ?? {} } }),
  };
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (route.apiSecret) {
    // §9.4: only the timestamp is signed; its unit is undocumented, the simulator sends epoch milliseconds.
    const timestamp = String(Math.floor(s.now()));
    headers['x-ddpaas-signature-timestamp'] = timestamp;
    headers['x-ddpaas-signature'] = cardCallbackSignature(press.badSignature ? `${route.apiSecret}x` : route.apiSecret, timestamp);
  }
  let status = 0;
  let answer: unknown;
  try {
    const r = await fetch(route.callbackUrl, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(CALLBACK_DEADLINE_MS) });
    status = r.status;
    const text = await r.text();
    try { answer = JSON.parse(text); } catch { answer = text; }
  } catch {
    status = 0; // no answer within the deadline (§9.4)
  }
  if (status === 200 && isObject(answer)) {
    // §9.4: the answer's data reaches only the presser.
    const opts = isObject(answer.cardUpdateOptions) ? answer.cardUpdateOptions : {};
    const pub = stringsOf(answer.cardData);
    const priv = stringsOf(answer.userPrivateData);
    const merge = (byKey: unknown, old: CardParams | undefined, next: CardParams): CardParams => (byKey === true ? { ...old, ...next } : next);
    if (pub) card.presserData[user.userId] = merge(opts.updateCardDataByKey, card.presserData[user.userId], pub);
    if (priv) card.privateData[user.userId] = merge(opts.updatePrivateDataByKey, card.privateData[user.userId], priv);
  }
  return { url: route.callbackUrl, headers, body, status, answer };
}
