import { DingTalkClient } from '../../../lib/dingtalk/client';
import { installedGroups } from '../../../lib/homepage/status';
import { describeDisbandFailure, disbandSceneGroup } from '../../../lib/warroom/disband';

/** A client whose fetch answers `status` + `body` and remembers what was sent. */
function aClient(status: number, body: unknown) {
  const sent: Array<{ url: string; method?: string; body: unknown; headers: Record<string, string> }> = [];
  const fetch = (async (url: string, init: RequestInit) => {
    sent.push({ url, method: init.method, body: JSON.parse(String(init.body)), headers: init.headers as Record<string, string> });
    return new Response(JSON.stringify(body), { status, headers: { 'x-acs-request-id': 'REQ-D' } });
  }) as unknown as typeof globalThis.fetch;
  return { client: new DingTalkClient({ apiUrl: 'https://api.example', oapiUrl: 'https://oapi.example', fetch }), sent };
}

describe('disbanding a war room (docs/dingtalk-api.md §5.3)', () => {
  it('POSTs the camelCase body to the disband route with the token header', async () => {
    const { client, sent } = aClient(200, { success: true });
    const r = await disbandSceneGroup(client, 'tok', 'cid1==');
    expect(r).toEqual({ kind: 'ok', data: { success: true }, status: 200, requestId: 'REQ-D' });
    expect(sent).toEqual([{ url: 'https://api.example/v1.0/im/chat/scenegroup/disband', method: 'POST', body: { openConversationId: 'cid1==' }, headers: expect.objectContaining({ 'x-acs-dingtalk-access-token': 'tok' }) }]);
  });

  it.each([
    ['paramIllegal', 400, 'permanent'],
    ['permession.checkFailed', 400, 'permanent'],
    ['system.error', 500, 'retryable'],
  ])('%s (HTTP %i) is %s', async (code, status, kind) => {
    const { client } = aClient(status, { code, message: 'm', requestid: 'R1' });
    expect(await disbandSceneGroup(client, 'tok', 'cid1==')).toMatchObject({ kind, code, status });
  });

  it('an answer of success: false is a retryable, ambiguous badResponse', async () => {
    const { client } = aClient(200, { success: false });
    expect(await disbandSceneGroup(client, 'tok', 'cid1==')).toMatchObject({ kind: 'retryable', code: 'badResponse', cause: 'server' });
  });

  it('the reason of a permanent refusal says what it means for the war room', () => {
    expect(describeDisbandFailure({ code: 'permession.checkFailed', message: '权限校验失败' })).toBe(
      "permession.checkFailed (权限校验失败): the war room's owner is outside the app's visible range, or the app lacks qyapi_chat_manage",
    );
    expect(describeDisbandFailure({ code: 'paramIllegal', message: 'x' })).toMatch(/^paramIllegal \(x\): DingTalk knows no live scene group/);
    expect(describeDisbandFailure({ code: 'system.error', message: 'boom' })).toBe('system.error (boom)');
  });

  it('the homepage no longer lists a disbanded group as installed', () => {
    const groups = [
      { openConversationId: 'cidA', title: 'A', linked: true },
      { openConversationId: 'cidB', title: 'B', linked: true, disbandedAt: '2026-11-30T00:00:00.000Z' },
    ];
    expect(installedGroups(groups).map((g) => g.openConversationId)).toEqual(['cidA']);
  });
});
