/** 免登 auth codes: issued as `dd.requestAuthCode` would, exchanged by getuserinfo (docs/dingtalk-api.md §10). */
import { randomBytes } from 'node:crypto';
import { ERRCODES, oldFail, oldOk, str, type Reply } from './replies';
import type { Ctx, SimState } from './state';

/** §10: a code is valid for 5 minutes and usable once. */
export const AUTH_CODE_TTL_MS = 5 * 60_000;

export function issueAuthCode(s: SimState, clientId: string, userId: string): string {
  const app = s.apps.get(clientId);
  if (!app) throw new Error(`no app ${clientId}`);
  if (!s.corps.get(app.corpId)?.users.has(userId)) throw new Error(`no user ${userId} in ${app.corpId}`);
  const code = randomBytes(16).toString('hex');
  s.authCodes.set(code, { clientId, corpId: app.corpId, userId, expiresAt: s.now() + AUTH_CODE_TTL_MS });
  return code;
}

export function getUserInfo(s: SimState, { at, body, app, corp }: Ctx): Reply {
  const code = str(body.code);
  if (!code) return oldFail(ERRCODES.badParameter, '缺少参数 code'); // §10: the bad-parameter code of §4
  const entry = s.authCodes.get(code);
  s.authCodes.delete(code); // §10: once: presented once, gone (the strict side)
  // §10: unknown, used, expired, or minted for another app or organisation: 40078 (third-party lists only, unverified).
  if (!entry || entry.expiresAt <= at || entry.clientId !== app.clientId || entry.corpId !== app.corpId) {
    return oldFail(ERRCODES.authCodeInvalid, '不存在的临时授权码');
  }
  const user = corp.users.get(entry.userId);
  if (!user) return oldFail(ERRCODES.authCodeInvalid, '不存在的临时授权码');
  return oldOk({ // §10: GUI's result fields
    userid: user.userId, unionid: user.unionId ?? '', associated_unionid: '', name: user.name ?? user.userId,
    sys: false, sys_level: 0, device_id: randomBytes(8).toString('hex'),
  });
}
