import { COUNTED, NO_SUCH_MOBILE, NO_SUCH_MOBILE_CODES, type BatchSendRequest, type BatchSendResponse, type DingTalkClient, type GroupSendRequest, type GroupSendResponse } from './client';
import { DingTalkError, type DingTalkApi, type DingTalkFailure, type DingTalkResult } from './errors';
import type { Severity } from '../contracts/notifyMessage';
import { getCachedMobile, putCachedMobile } from '../store/mobiles';
import type { Table } from '../store/table';
import type { AccessTokens, AppCredentials } from './accessTokens';
import { throughGate } from './throughGate';
import type { CallGate } from './callGate';

/**
 * DingTalk calls on behalf of one app (tenant): the cached access token, the gate around every
 * call, and "refresh the token and retry once" when DingTalk refuses it. Results are classified,
 * never thrown; the robot code is the app's Client ID.
 *
 * @example
 * const session = new AppSession({ client, gate, tokens }, app, 'critical');
 * const r = await session.batchSend({ userIds, msgKey, msgParam });
 */
export class AppSession {
  constructor(
    private readonly deps: AppSessionDeps,
    readonly app: AppCredentials,
    readonly severity?: Severity,
  ) {}

  batchSend(req: Omit<BatchSendRequest, 'robotCode'>): Promise<DingTalkResult<BatchSendResponse>> {
    return this.call('batchSend', (t) => this.deps.client.batchSend(t, { robotCode: this.app.clientId, ...req }));
  }

  groupSend(req: Omit<GroupSendRequest, 'robotCode'>): Promise<DingTalkResult<GroupSendResponse>> {
    return this.call('groupSend', (t) => this.deps.client.groupSend(t, { robotCode: this.app.clientId, ...req }));
  }

  getUserIdByMobile(mobile: string): Promise<DingTalkResult<{ userId: string }>> {
    return this.call('getbymobile', (t) => this.deps.client.getUserIdByMobile(t, mobile));
  }

  /**
   * One DingTalk call `fn` (given the access token) as `api` on behalf of this app: through the
   * gate, the token refreshed and the call retried once if DingTalk refuses it; classified, never thrown.
   */
  async call<T>(api: DingTalkApi, fn: (token: string) => Promise<DingTalkResult<T>>): Promise<DingTalkResult<T>> {
    const { tokens, gate } = this.deps;
    const gateCall = { api, clientId: this.app.clientId, corpId: this.app.corpId, tenantId: this.app.tenantId, counted: COUNTED[api], severity: this.severity };
    // No call (the token's included) starts once the invocation has no time left for it.
    const tooLate = () => this.deps.outOfTime?.() === true;
    const token = await this.token(() => tokens.get(this.app));
    if (typeof token !== 'string') return token;
    if (tooLate()) return notStarted(api);
    const first = await this.gated(() => throughGate(gate, gateCall, () => fn(token)));
    if (first.kind !== 'refreshToken') return first;
    const fresh = await this.token(() => tokens.refresh(this.app, token));
    if (typeof fresh !== 'string') return fresh;
    if (tooLate()) return notStarted(api);
    const second = await this.gated(() => throughGate(gate, gateCall, () => fn(fresh)));
    // A brand-new token refused again: not ours to fix now; back off and retry later.
    return second.kind === 'refreshToken' ? { ...second, kind: 'retryable' } : second;
  }

  /** An access token, or the failure to get one: never ambiguous (no message went out). */
  private async token(get: () => Promise<string>): Promise<string | DingTalkFailure> {
    if (this.deps.outOfTime?.()) return notStarted('token');
    try {
      return await get();
    } catch (e) {
      if (e instanceof DingTalkError) return { ...e.toFailure(), kind: e.kind === 'permanent' ? 'permanent' : 'retryable', cause: 'notStarted' };
      throw e;
    }
  }

  /** A gated call; a gate refusal (quota, no slot soon) comes back as its failure. */
  private async gated<T>(call: () => Promise<DingTalkResult<T>>): Promise<DingTalkResult<T>> {
    try {
      return await call();
    } catch (e) {
      if (e instanceof DingTalkError) return e.toFailure();
      throw e;
    }
  }
}

/** What an {@link AppSession} needs: the client, the gate, the shared tokens, and when the invocation runs out of time. */
export interface AppSessionDeps {
  client: DingTalkClient;
  gate: CallGate;
  tokens: AccessTokens;
  /** True once no DingTalk call may start (see DeliveryContext.deadline). */
  outOfTime?: () => boolean;
}

/** A call not made because the invocation had no time left for it: retried later, never ambiguous. */
const notStarted = (api: DingTalkApi): DingTalkFailure => ({
  kind: 'retryable',
  code: 'local.notStarted',
  message: `${api}: not started, the invocation had no time left for the call`,
  status: 0,
  cause: 'notStarted',
});

/** A mobile's userId: the per-organisation cache (shared by `notify` and the war room), else getbymobile through the gate. */
export async function resolveMobile(
  ctx: { table: Table; now: () => number },
  session: Pick<AppSession, 'getUserIdByMobile'>,
  corpId: string,
  mobile: string,
): Promise<DingTalkResult<{ userId: string }>> {
  const cached = await getCachedMobile(ctx.table, corpId, mobile, ctx.now());
  if (cached) {
    return cached.userId
      ? { kind: 'ok', data: { userId: cached.userId }, status: 200 }
      : { kind: 'permanent', code: NO_SUCH_MOBILE, message: 'no such user (cached)', status: 200 };
  }
  const r = await session.getUserIdByMobile(mobile);
  if (r.kind === 'ok') await putCachedMobile(ctx.table, corpId, mobile, r.data.userId, ctx.now());
  else if (NO_SUCH_MOBILE_CODES.has(r.code)) await putCachedMobile(ctx.table, corpId, mobile, null, ctx.now());
  return r;
}
