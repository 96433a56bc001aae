import type { DingTalkClient } from '../dingtalk/client';
import type { DingTalkFailure, DingTalkResult } from '../dingtalk/errors';

/**
 * Typed wrappers of the card-instance API (docs/dingtalk-api.md §9) over `client.request`: create
 * and deliver (§9.1), update (§9.2), callback registration (§9.3) and top-card close (§9.5). Each
 * takes the access token; callers make them through an AppSession (the gate, one token refresh).
 */

/** §9.1: every value a string of at most 1 KB, keys at most 100 bytes. */
export type CardParamMap = Record<string, string>;

export interface CardCreateRequest {
  cardTemplateId: string;
  outTrackId: string;
  cardData: { cardParamMap: CardParamMap };
  privateData?: Record<string, { cardParamMap: CardParamMap }>;
  callbackType?: 'STREAM' | 'HTTP';
  callbackRouteKey?: string;
  /** `dtv1.card//` and one `SPACETYPE.spaceId` per space type, joined by `;`. */
  openSpaceId: string;
  imGroupOpenSpaceModel?: { supportForward: boolean };
  imGroupOpenDeliverModel?: { robotCode: string; atUserIds?: Record<string, string>; recipients?: string[] };
  imRobotOpenSpaceModel?: { supportForward: boolean };
  imRobotOpenDeliverModel?: { spaceType: 'IM_ROBOT'; robotCode: string };
  topOpenSpaceModel?: { spaceType: 'ONE_BOX' };
  topOpenDeliverModel?: { expiredTimeMillis: number; userIds?: string[]; platforms?: string[] };
  userIdType?: 1 | 2;
}

/** One space of a create's answer: the call can succeed while a space failed (§9.1). */
export interface CardDeliverResult {
  spaceType?: string;
  spaceId?: string;
  success?: boolean;
  carrierId?: string;
  errorMsg?: string;
}

interface CreateAnswer {
  success?: boolean;
  result?: { outTrackId?: string; deliverResults?: CardDeliverResult[] };
}

/** What a create came to: delivered now, or `alreadyExisted` (an earlier create of ours went through). */
export interface CardCreated {
  alreadyExisted: boolean;
}

export interface CardUpdateRequest {
  outTrackId: string;
  cardData?: { cardParamMap: CardParamMap };
  privateData?: Record<string, { cardParamMap: CardParamMap }>;
  cardUpdateOptions?: { updateCardDataByKey?: boolean; updatePrivateDataByKey?: boolean };
  userIdType?: 1 | 2;
}

export interface CallbackRegisterRequest {
  callbackRouteKey: string;
  callbackUrl: string;
  apiSecret?: string;
  forceUpdate?: boolean;
}

/** §9.1: the outTrackId is taken: a retry of our own create, so the card exists. */
export const CARD_ALREADY_EXIST = 'param.cardAlreadyExist';
/** §9.2, §9.5: no such card. */
export const CARD_NOT_EXIST = 'param.cardNotExist';
/** A private-data user who is not in the organisation (docs/dingtalk-api.md §9.2). */
export const USER_ID_NOT_EXIST = 'param.userIdNotExist';
/** Ours: the create was answered but a space was not delivered to (its errorMsg in the message). */
export const CARD_SPACE_FAILED = 'card.spaceFailed';

const okOf = <T>(r: { status: number; requestId?: string }, data: T): DingTalkResult<T> => ({ kind: 'ok', data, status: r.status, ...(r.requestId ? { requestId: r.requestId } : {}) });
const permanent = (code: string, message: string, r: { status: number; requestId?: string }): DingTalkFailure => ({
  kind: 'permanent',
  code,
  message,
  status: r.status,
  ...(r.requestId ? { requestId: r.requestId } : {}),
});

/**
 * POST /v1.0/card/instances/createAndDeliver (§9.1). `param.cardAlreadyExist` is a success
 * (`alreadyExisted`: the outTrackId is derived, so only our own earlier create can hold it); an
 * answer with `success: false` or a space whose `success` is false is a permanent failure naming
 * the space and DingTalk's errorMsg.
 *
 * @example
 * const r = await session.call('cardCreateAndDeliver', (t) => createAndDeliver(client, t, req));
 */
export async function createAndDeliver(client: DingTalkClient, token: string, req: CardCreateRequest): Promise<DingTalkResult<CardCreated>> {
  const r = await client.request<CreateAnswer>('new', 'POST', '/v1.0/card/instances/createAndDeliver', req, token);
  if (r.kind !== 'ok') return r.code === CARD_ALREADY_EXIST ? okOf(r, { alreadyExisted: true }) : r;
  if (r.data.success === false) return permanent(CARD_SPACE_FAILED, 'createAndDeliver answered success: false', r);
  const deliverResults = Array.isArray(r.data.result?.deliverResults) ? r.data.result.deliverResults : [];
  const failed = deliverResults.filter((d) => d.success !== true);
  if (failed.length) {
    const spaces = failed.map((d) => `${d.spaceType ?? '?'}.${d.spaceId ?? '?'}: ${d.errorMsg ?? 'not delivered'}`).join('; ');
    return permanent(CARD_SPACE_FAILED, `card not delivered to ${spaces}`, r);
  }
  return okOf(r, { alreadyExisted: false });
}

/**
 * PUT /v1.0/card/instances (§9.2): with `cardUpdateOptions.updateCardDataByKey` the keys given are
 * merged into the card's public data; without it they replace it.
 */
export async function updateCard(client: DingTalkClient, token: string, req: CardUpdateRequest): Promise<DingTalkResult<{ result?: boolean }>> {
  const r = await client.request<{ success?: boolean; result?: boolean }>('new', 'PUT', '/v1.0/card/instances', req, token);
  if (r.kind !== 'ok') return r;
  if (r.data.success === false) return permanent('card.updateFailed', 'card update answered success: false', r);
  return okOf(r, { result: r.data.result });
}

/**
 * POST /v1.0/card/callbacks/register (§9.3). Never logged as is: the request carries the apiSecret.
 */
export async function registerCallback(client: DingTalkClient, token: string, req: CallbackRegisterRequest): Promise<DingTalkResult<{ callbackUrl?: string }>> {
  const r = await client.request<{ success?: boolean; result?: { callbackUrl?: string } }>('new', 'POST', '/v1.0/card/callbacks/register', req, token);
  // §9.3: a key taken (answered 500) is permanent; a failed update (answered 400) is worth a retry.
  if (r.kind === 'retryable' && r.code === 'param.callbackRouteKeyExist') return { ...r, kind: 'permanent' };
  if (r.kind === 'permanent' && r.code === 'system.updateCallbackFailed') return { ...r, kind: 'retryable' };
  if (r.kind !== 'ok') return r;
  if (r.data.success === false) return permanent('card.registerFailed', 'callback registration answered success: false', r);
  return okOf(r, { callbackUrl: r.data.result?.callbackUrl });
}
