import type { DingTalkResult } from '../../../lib/dingtalk/errors';
import { memberLinkMessage } from '../../../lib/links/handleLink';
import { AuthCodeRefusedError, DingTalkUnavailableError, exchangeAuthCode } from '../../../lib/links/userInfo';

/** How getuserinfo's answers are read (docs/dingtalk-api.md §10), with a stand-in session and client. */

const answering = (r: DingTalkResult<unknown>) => {
  const requests: Array<{ path: string; body: unknown }> = [];
  const client = {
    request: async <T>(_style: 'new' | 'old', _method: 'POST' | 'PUT', path: string, body: unknown) => {
      requests.push({ path, body });
      return r as DingTalkResult<T>;
    },
  };
  const session = { call: <T>(_api: string, fn: (token: string) => Promise<DingTalkResult<T>>) => fn('tok/en+1') } as never;
  return { client, session, requests };
};

describe('exchangeAuthCode', () => {
  it('returns the user and name, posting the code to the old API with the app token', async () => {
    const { client, session, requests } = answering({ kind: 'ok', status: 200, data: { errcode: 0, result: { userid: 'manager4220', name: '张三' } } });
    await expect(exchangeAuthCode(session, client, 'c0de')).resolves.toEqual({ userId: 'manager4220', name: '张三' });
    expect(requests).toEqual([{ path: '/topapi/v2/user/getuserinfo?access_token=tok%2Fen%2B1', body: { code: 'c0de' } }]);
  });

  it('a nameless user has an empty name; an answer without userid is DingTalk unavailable, not a link', async () => {
    await expect(exchangeAuthCode(answering({ kind: 'ok', status: 200, data: { result: { userid: 'u1' } } }).session, answering({ kind: 'ok', status: 200, data: { result: { userid: 'u1' } } }).client, 'c')).resolves.toEqual({ userId: 'u1', name: '' });
    const empty = answering({ kind: 'ok', status: 200, data: { errcode: 0 } });
    await expect(exchangeAuthCode(empty.session, empty.client, 'c')).rejects.toBeInstanceOf(DingTalkUnavailableError);
  });

  it('40078 and any other permanent errcode refuse the code (400), naming neither code nor token', async () => {
    for (const code of ['40078', '400002', '60011']) {
      const a = answering({ kind: 'permanent', code, message: '不存在的临时授权码', status: 200 });
      const err = await exchangeAuthCode(a.session, a.client, 'secret-code').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthCodeRefusedError);
      expect((err as AuthCodeRefusedError).status).toBe(400);
      expect((err as AuthCodeRefusedError).dingtalkCode).toBe(code);
      expect((err as Error).message).not.toContain('secret-code');
    }
  });

  it('throttling, quota and outages are DingTalk unavailable (503): try again', async () => {
    for (const r of [
      { kind: 'retryable', code: '90018', message: 'qps', status: 200, cause: 'qps' },
      { kind: 'quotaExhausted', code: '90020', message: 'quota', status: 200 },
      { kind: 'retryable', code: 'timeout', message: 'no answer', status: 0, cause: 'timeout' },
    ] as const) {
      const a = answering(r);
      const err = await exchangeAuthCode(a.session, a.client, 'c').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DingTalkUnavailableError);
      expect((err as DingTalkUnavailableError).status).toBe(503);
    }
  });
});

describe('memberLinkMessage', () => {
  it('is valid for the actions contract whatever the name, with one id per tenant, member and user', () => {
    const long = '😀'.repeat(40); // 80 UTF-16 units
    const m = memberLinkMessage('acme', { memberId: '11', userId: 'u1', name: long, linkedAt: '2026-11-30T00:00:00.000Z' });
    expect(m.by.name!.length).toBeLessThanOrEqual(64);
    expect(m.by.name!.endsWith('😀')).toBe(true);
    expect(memberLinkMessage('acme', { memberId: '11', userId: 'u1', name: '', linkedAt: '2026-11-30T01:00:00.000Z' }).id).toBe(m.id);
    expect(memberLinkMessage('acme', { memberId: '11', userId: 'u2', name: '', linkedAt: '2026-11-30T00:00:00.000Z' }).id).not.toBe(m.id);
    expect(memberLinkMessage('acme', { memberId: '11', userId: 'u1', name: '', linkedAt: '2026-11-30T00:00:00.000Z' }).by).toEqual({ dingtalkUserId: 'u1', memberId: '11' });
  });
});
