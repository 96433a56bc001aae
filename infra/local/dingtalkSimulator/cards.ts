/**
 * The card routes: create and deliver, update by outTrackId, callback registration and top-card
 * close (docs/dingtalk-api.md §9.1, §9.2, §9.3, §9.5).
 */
import { CODES, isObject, ok, reject, str, type Reply } from './replies';
import { carrierId, checkModels, MAX_OUT_TRACK_ID_CHARS, paramMap, parseSpaces, place, privateMap, userIdTypeOf } from './cardSpaces';
import type { Ctx, SimState } from './state';
import type { CardParams, SimCard } from './types';

export function cardCreateAndDeliver(s: SimState, { at, body, app, corp }: Ctx): Reply {
  if (!Object.keys(body).length) throw reject(400, CODES.cardParamEmpty, 'empty request'); // §9.1
  const cardTemplateId = str(body.cardTemplateId);
  if (!cardTemplateId) throw reject(400, CODES.cardTemplateIdEmpty, 'cardTemplateId is required'); // §9.1
  const outTrackId = str(body.outTrackId);
  if (!outTrackId) throw reject(400, CODES.outTrackIdEmpty, 'outTrackId is required'); // §9.1
  if (outTrackId.length > MAX_OUT_TRACK_ID_CHARS) throw reject(400, CODES.cardParamInvalid, `outTrackId: at most ${MAX_OUT_TRACK_ID_CHARS} characters`); // §9.1 (TB)
  const type = userIdTypeOf(body.userIdType);
  if (!isObject(body.cardData) || body.cardData.cardParamMap === undefined) throw reject(400, CODES.cardPublicDataEmpty, 'cardData.cardParamMap is required'); // §9.1
  const cardData = paramMap(body.cardData.cardParamMap, 'cardData.cardParamMap');
  const privateData = body.privateData === undefined ? {} : privateMap(corp, body.privateData, type);
  const openSpaceId = str(body.openSpaceId);
  if (!openSpaceId) throw reject(400, CODES.openSpaceIdEmpty, 'openSpaceId is required'); // §9.1
  const refs = parseSpaces(openSpaceId);
  const tpl = s.cardTemplates.get(app.clientId)?.get(cardTemplateId);
  if (!tpl) throw reject(400, CODES.templateNotExist, 'no such card template for this app'); // §9.1
  if (!tpl.published) throw reject(400, CODES.templateUnpublished, 'the card template is not published'); // §9.1
  const callbackType = body.callbackType as 'STREAM' | 'HTTP' | undefined;
  if (callbackType !== undefined && callbackType !== 'STREAM' && callbackType !== 'HTTP') throw reject(400, CODES.cardParamInvalid, 'callbackType is STREAM or HTTP'); // §9.1
  const callbackRouteKey = str(body.callbackRouteKey);
  // §9.1 (safe side): an HTTP callback needs a route key this app registered (§9.3).
  if (callbackType === 'HTTP' && (!callbackRouteKey || s.routes.get(callbackRouteKey)?.clientId !== app.clientId)) {
    throw reject(400, CODES.cardParamInvalid, 'callbackRouteKey is not registered by this app');
  }
  const opts = checkModels(body, refs, app, corp, type);
  if (s.cards.has(outTrackId)) throw reject(400, CODES.cardAlreadyExist, 'a card with this outTrackId exists'); // §9.1
  const spaces = place(s, at, app, corp, type, refs, opts);
  const card: SimCard = {
    outTrackId, clientId: app.clientId, corpId: app.corpId, cardTemplateId, cardData, privateData, presserData: {}, spaces,
    userIdType: type, updates: 0, ...(callbackType ? { callbackType } : {}), ...(callbackRouteKey ? { callbackRouteKey } : {}),
  };
  s.cards.set(outTrackId, card);
  const deliverResults = spaces.map((sp) => ({
    spaceType: sp.spaceType, spaceId: sp.spaceId, success: sp.success,
    ...(sp.success ? { carrierId: carrierId() } : { errorMsg: sp.errorMsg }),
  }));
  return ok({ success: true, result: { outTrackId, deliverResults } }); // §9.1
}

const merge = (byKey: boolean, old: CardParams | undefined, next: CardParams): CardParams => (byKey ? { ...old, ...next } : next);

export function cardUpdate(s: SimState, { body, app, corp }: Ctx): Reply {
  const outTrackId = str(body.outTrackId);
  if (!outTrackId) throw reject(400, CODES.outTrackIdEmpty, 'outTrackId is required'); // §9.2
  if (body.cardData === undefined && body.privateData === undefined) throw reject(400, CODES.bothDataEmpty, 'cardData or privateData is required'); // §9.2
  const type = userIdTypeOf(body.userIdType);
  const cardData = body.cardData === undefined ? undefined : paramMap(isObject(body.cardData) ? body.cardData.cardParamMap : undefined, 'cardData.cardParamMap');
  const privateData = body.privateData === undefined ? undefined : privateMap(corp, body.privateData, type); // §9.2: param.userIdNotExist
  const card = s.cards.get(outTrackId);
  // §9.2: a card of another app is not this app's to find (the safe side).
  if (!card || card.clientId !== app.clientId) throw reject(400, CODES.cardNotExist, 'no such card');
  const options = isObject(body.cardUpdateOptions) ? body.cardUpdateOptions : {};
  // §9.2: without updateCardDataByKey / updatePrivateDataByKey the data given replaces the old (per user for private data).
  if (cardData) card.cardData = merge(options.updateCardDataByKey === true, card.cardData, cardData);
  for (const [userId, params] of Object.entries(privateData ?? {})) {
    card.privateData[userId] = merge(options.updatePrivateDataByKey === true, card.privateData[userId], params);
  }
  card.updates++;
  return ok({ success: true, result: true });
}

export function cardCallbackRegister(s: SimState, { body, app }: Ctx): Reply {
  if (!Object.keys(body).length) throw reject(400, CODES.cardParamEmpty, 'empty request'); // §9.3
  const key = str(body.callbackRouteKey);
  if (!key) throw reject(400, CODES.routeKeyEmpty, 'callbackRouteKey is required'); // §9.3
  const callbackUrl = str(body.callbackUrl);
  if (!callbackUrl) throw reject(400, CODES.callbackUrlEmpty, 'callbackUrl is required'); // §9.3
  // §9.3 lists no code for a bad type: param.invalid stands for it (the strict side).
  if (body.apiSecret !== undefined && typeof body.apiSecret !== 'string') throw reject(400, CODES.cardParamInvalid, 'apiSecret must be a string');
  if (body.forceUpdate !== undefined && typeof body.forceUpdate !== 'boolean') throw reject(400, CODES.cardParamInvalid, 'forceUpdate must be a Boolean');
  const existing = s.routes.get(key);
  // §9.3 (safe side): route keys are unique across DingTalk; DingTalk answers this one with HTTP 500.
  if (existing && existing.clientId !== app.clientId) throw reject(500, CODES.routeKeyExist, 'callbackRouteKey is registered already');
  if (existing && body.forceUpdate !== true) {
    // §9.3: without forceUpdate the earlier registration stays and is returned.
    return ok({ success: true, result: { callbackUrl: existing.callbackUrl, apiSecret: existing.apiSecret } });
  }
  const apiSecret = str(body.apiSecret) || undefined;
  s.routes.set(key, { clientId: app.clientId, callbackUrl, ...(apiSecret ? { apiSecret } : {}) });
  return ok({ success: true, result: { callbackUrl, apiSecret } });
}

/** §9.5: query parameters outTrackId and openConversationId, no body. */
export function cardTopClose(s: SimState, { query, app }: Ctx): Reply {
  const outTrackId = query.get('outTrackId') ?? '';
  const cid = query.get('openConversationId') ?? '';
  if (!outTrackId && !cid) throw reject(400, CODES.cardParamEmpty, 'outTrackId and openConversationId are required'); // §9.5
  if (!outTrackId) throw reject(400, CODES.outTrackIdEmpty, 'outTrackId is required'); // §9.5
  const card = s.cards.get(outTrackId);
  if (!card || card.clientId !== app.clientId) throw reject(400, CODES.cardNotExist, 'no such card'); // §9.5
  const tops = card.spaces.filter((sp) => sp.spaceType === 'ONE_BOX' && sp.success && sp.spaceId === cid);
  if (!tops.length) throw reject(400, CODES.conversationIdInvalid, 'the card is not a top card of this conversation'); // §9.5
  for (const sp of tops) sp.closed = true; // a second close answers success again (undocumented, §9.5)
  return ok({ success: true, result: true });
}
