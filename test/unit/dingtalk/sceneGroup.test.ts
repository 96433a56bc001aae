import { DingTalkClient } from '../../../lib/dingtalk/client';
import { isRobotNotInGroup } from '../../../lib/dingtalk/errors';

/** A client whose fetch answers `status` + `body` and remembers what was sent. */
function aClient(status: number, body: unknown) {
  const sent: Array<{ url: string; body: any; headers: Record<string, string> }> = [];
  const fetch = (async (url: string, init: RequestInit) => {
    sent.push({ url, body: JSON.parse(String(init.body)), headers: init.headers as Record<string, string> });
    return new Response(typeof body === 'string' ? body : JSON.stringify(body), { status, headers: { 'x-acs-request-id': 'REQ-H' } });
  }) as unknown as typeof globalThis.fetch;
  return { client: new DingTalkClient({ apiUrl: 'https://api.example/', oapiUrl: 'https://oapi.example', fetch }), sent };
}

const create = { title: 'DB down', template_id: 'tpl-1', owner_user_id: 'owner', user_ids: ['u1', 'u2'], uuid: 'uuid-1' };

describe('the DingTalk client: scene groups (war rooms)', () => {
  it('sceneGroup/create sends the snake_case body with the token header and reads the group ids', async () => {
    // given
    const { client, sent } = aClient(200, { open_conversation_id: 'cid1==', chat_id: 'chat1' });
    // when
    const r = await client.sceneGroupCreate('tok', create);
    // then
    expect(r).toEqual({ kind: 'ok', data: { openConversationId: 'cid1==', chatId: 'chat1' }, status: 200, requestId: 'REQ-H' });
    expect(sent[0].url).toBe('https://api.example/v1.0/im/sceneGroup/create');
    expect(sent[0].headers['x-acs-dingtalk-access-token']).toBe('tok');
    expect(sent[0].body).toEqual({ title: 'DB down', template_id: 'tpl-1', owner_user_id: 'owner', user_ids: ['u1', 'u2'], uuid: 'uuid-1' });
  });

  it('sceneGroup/create without members leaves user_ids out; an answer wrapped in "result" is read too', async () => {
    const { client, sent } = aClient(200, { result: { open_conversation_id: 'cid2==', chat_id: 'chat2' } });
    const r = await client.sceneGroupCreate('tok', { ...create, user_ids: [] });
    expect(r).toMatchObject({ kind: 'ok', data: { openConversationId: 'cid2==', chatId: 'chat2' } });
    expect(sent[0].body).not.toHaveProperty('user_ids');
  });

  it('a 200 without open_conversation_id is retryable (the uuid makes the retry safe)', async () => {
    const { client } = aClient(200, { chat_id: 'chat1' });
    expect(await client.sceneGroupCreate('tok', create)).toMatchObject({ kind: 'retryable', code: 'badResponse' });
  });

  it.each([
    [400, { code: 'groupTemplate.notFound', message: 'no such group template' }, 'permanent'],
    [400, { code: 'member.notFound', message: 'no such owner userId' }, 'permanent'],
    [400, { code: 'parameter.invalid', message: 'user_ids must be an array of userIds' }, 'permanent'],
    [403, { code: 'Forbidden.AccessDenied.ApiCountLimitForOrg', message: 'quota' }, 'quotaExhausted'],
    [403, { code: 'Forbidden.AccessDenied.QpsLimitForAppkeyAndApi', message: 'qps' }, 'retryable'],
    [400, { code: 'InvalidAuthentication', message: 'token' }, 'refreshToken'],
    [503, '<html>busy</html>', 'retryable'],
  ])('sceneGroup/create HTTP %i %j -> %s', async (status, body, kind) => {
    const { client } = aClient(status, body);
    expect((await client.sceneGroupCreate('tok', create)).kind).toBe(kind);
  });

  it('sceneGroup/member/add sends open_conversation_id and the user_ids as an array', async () => {
    const { client, sent } = aClient(200, { success: true });
    const r = await client.sceneGroupMemberAdd('tok', { open_conversation_id: 'cid1==', user_ids: ['u3', 'u4'] });
    expect(r).toMatchObject({ kind: 'ok', data: {} });
    expect(sent[0].url).toBe('https://api.example/v1.0/im/sceneGroup/member/add');
    expect(sent[0].body).toEqual({ open_conversation_id: 'cid1==', user_ids: ['u3', 'u4'] });
  });

  it.each(['invalidParameter.robotCode.empty', 'invalidParameter.robotCode.notExsit', 'resource.not.found', 'resource.unavailable'])(
    '"robot not in the group" (the template still installing) is recognised: %s', async (code) => {
      const { client } = aClient(400, { code, message: 'installing' });
      const r = await client.groupSend('tok', { robotCode: 'bot', openConversationId: 'cid1==', msgKey: 'sampleMarkdown', msgParam: '{}' });
      expect(r.kind).toBe('permanent');
      expect(r.kind !== 'ok' && isRobotNotInGroup(r)).toBe(true);
    });

  it.each(['invalid.openConversationId', 'group.disbanded', 'invalidParameter.robotCode.auth', 'invalidParameter.msgParam.tooLong'])(
    'other permanent group-send refusals are not "robot not in the group": %s', async (code) => {
      const { client } = aClient(400, { code, message: 'refused' });
      const r = await client.groupSend('tok', { robotCode: 'bot', openConversationId: 'cid1==', msgKey: 'sampleMarkdown', msgParam: '{}' });
      expect(r.kind).toBe('permanent');
      expect(r.kind !== 'ok' && isRobotNotInGroup(r)).toBe(false);
    });
});
