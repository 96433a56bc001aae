import type { DingTalkClient } from '../dingtalk/client';
import type { DingTalkResult } from '../dingtalk/errors';
import type { AppSession } from '../dingtalk/appSession';
import { createAndDeliver, registerCallback, updateCard, type CallbackRegisterRequest, type CardCreated, type CardCreateRequest, type CardUpdateRequest } from './api';

/**
 * The card calls of one app, each through its {@link AppSession}: the gate (the app's QPS per API,
 * the monthly quota: docs/two-way.md, "Cards"), the cached token and one refresh on a refused one.
 *
 * @example
 * const cards = new CardSession(ctx.client, session);
 * const r = await cards.create(req);
 */
export class CardSession {
  constructor(
    private readonly client: DingTalkClient,
    readonly session: AppSession,
  ) {}

  create(req: CardCreateRequest): Promise<DingTalkResult<CardCreated>> {
    return this.session.call('cardCreateAndDeliver', (t) => createAndDeliver(this.client, t, req));
  }

  update(req: CardUpdateRequest): Promise<DingTalkResult<{ result?: boolean }>> {
    return this.session.call('cardUpdate', (t) => updateCard(this.client, t, req));
  }

  register(req: CallbackRegisterRequest): Promise<DingTalkResult<{ callbackUrl?: string }>> {
    return this.session.call('cardCallbackRegister', (t) => registerCallback(this.client, t, req));
  }

}
