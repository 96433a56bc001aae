import type { AppSession } from '../dingtalk/appSession';
import type { DingTalkClient } from '../dingtalk/client';
import type { DingTalkFailure } from '../dingtalk/errors';
import { BridgeError } from '../errors';

/**
 * The auth-code exchange of docs/dingtalk-api.md §10: `POST oapi /topapi/v2/user/getuserinfo` with
 * the app's token, through the app's session (the gate, one token refresh). An answer is one of:
 * the user, a refused code (unknown, used, expired, another app's: §10 says any non-zero errcode
 * but the token and limit codes of §8, 40078 in the simulator), or DingTalk unavailable for now.
 */

/** The user an auth code stood for. */
export interface AuthCodeUser {
  userId: string;
  /** The user's name as DingTalk gave it (may be empty). */
  name: string;
}

/** DingTalk refused the auth code: it is unknown, used, expired, or another app's. */
export class AuthCodeRefusedError extends BridgeError {
  constructor(readonly dingtalkCode: string) {
    super('DingTalk did not accept the sign-in code (it is used or expired): open the link again from DingTalk', 400, 'code_refused');
  }
}

/** DingTalk could not be asked now (throttled, quota, down): the user may try again shortly. */
export class DingTalkUnavailableError extends BridgeError {
  constructor(readonly failure: Pick<DingTalkFailure, 'kind' | 'code'>) {
    super('DingTalk could not be reached: try again in a minute', 503, 'dingtalk_unavailable');
  }
}

/** Longest auth code accepted (DingTalk's are a few dozen characters). */
export const MAX_AUTH_CODE_LENGTH = 256;

interface Answer {
  result?: { userid?: unknown; name?: unknown };
}

/**
 * Exchanges an auth code for its user; throws {@link AuthCodeRefusedError} or
 * {@link DingTalkUnavailableError}. The code never appears in an error or a log line.
 *
 * @example
 * const { userId, name } = await exchangeAuthCode(session, client, body.code);
 */
export async function exchangeAuthCode(session: Pick<AppSession, 'call'>, client: Pick<DingTalkClient, 'request'>, code: string): Promise<AuthCodeUser> {
  const r = await session.call('getUserInfo', (token) =>
    client.request<Answer>('old', 'POST', `/topapi/v2/user/getuserinfo?access_token=${encodeURIComponent(token)}`, { code }),
  );
  if (r.kind === 'ok') {
    const { userid, name } = r.data.result ?? {};
    if (typeof userid !== 'string' || !userid) throw new DingTalkUnavailableError({ kind: 'retryable', code: 'badResponse' });
    return { userId: userid, name: typeof name === 'string' ? name : '' };
  }
  // §10: anything but the token and the limits is the code's fault.
  if (r.kind === 'permanent') throw new AuthCodeRefusedError(r.code);
  throw new DingTalkUnavailableError(r);
}
