import { APP, CORP, OTHER, PATHS, TEMPLATE, dmCard, expectRefused, groupCard, harness, topCard, type Harness } from './simulatorClient';

let h: Harness;
beforeEach(async () => { h = await harness(); });
afterEach(async () => { await h.sim.close(); });

describe('card create and deliver (docs/dingtalk-api.md §9.1)', () => {
  it('delivers to a user through the app robot: only that user sees it, with their private data', async () => {
    const r = await h.call('POST', PATHS.create, dmCard('inc1-u1', 'u1', { privateData: { u1: { cardParamMap: { hint: 'yours' } } } }));
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ success: true, result: { outTrackId: 'inc1-u1', deliverResults: [{ spaceType: 'IM_ROBOT', spaceId: 'u1', success: true, carrierId: expect.any(String) }] } });
    expect(h.sim.cardSeenBy('inc1-u1', 'u1')).toEqual({ status: 'triggered', title: 'P1 db down', hint: 'yours' });
    expect(h.sim.cardSeenBy('inc1-u1', 'u2')).toBeUndefined();
    expect(h.sim.calls.at(-1)).toMatchObject({ api: 'cardCreateAndDeliver', status: 200, counted: true, clientId: APP.clientId });
  });

  it('private data has effect only on variables the template marks private (§9.1, CF)', async () => {
    h.sim.addCardTemplate(APP.clientId, { templateId: 'tplplain', privateParams: [] });
    await h.call('POST', PATHS.create, dmCard('plain-u1', 'u1', { cardTemplateId: 'tplplain', privateData: { u1: { cardParamMap: { hint: 'yours', status: 'mine' } } } }));
    expect(h.sim.cardSeenBy('plain-u1', 'u1')).toEqual({ status: 'triggered', title: 'P1 db down' });
  });

  it('delivers to a group: its members see it, or only the recipients when given', async () => {
    expect((await h.call('POST', PATHS.create, groupCard('g-all', 'cidOps=='))).json.result.deliverResults[0].success).toBe(true);
    expect(h.sim.cardSeenBy('g-all', 'u3')).toEqual({ status: 'triggered' });
    expect(h.sim.cardSeenBy('g-all', 'u9')).toBeUndefined(); // not a member
    await h.call('POST', PATHS.create, groupCard('g-some', 'cidOps==', APP.clientId, { imGroupOpenDeliverModel: { robotCode: APP.clientId, recipients: ['u2'] } }));
    expect(h.sim.cardSeenBy('g-some', 'u2')).toBeDefined();
    expect(h.sim.cardSeenBy('g-some', 'u3')).toBeUndefined();
  });

  it('delivers to a scene group only through the template robot, once it is installed; a failed space leaves the call a success', async () => {
    const cid = (await h.call('POST', PATHS.sceneCreate, { title: 'P1 war room', template_id: 'tplwar', owner_user_id: 'u1', user_ids: ['u2'], uuid: 'w1' })).json.open_conversation_id as string;
    const viaApp = await h.call('POST', PATHS.create, groupCard('w-app', cid));
    expect(viaApp.status).toBe(200);
    expect(viaApp.json.result.deliverResults).toEqual([{ spaceType: 'IM_GROUP', spaceId: cid, success: false, errorMsg: expect.any(String) }]);
    expect(h.sim.cardSeenBy('w-app', 'u1')).toBeUndefined();
    expect((await h.call('POST', PATHS.create, groupCard('w-early', cid, 'dingwarbot'))).json.result.deliverResults[0].success).toBe(false);
    h.clock.now += 1000;
    expect((await h.call('POST', PATHS.create, groupCard('w-bot', cid, 'dingwarbot'))).json.result.deliverResults[0].success).toBe(true);
    expect(h.sim.cardSeenBy('w-bot', 'u2')).toEqual({ status: 'triggered' });
    await h.call('POST', PATHS.sceneAdd, { open_conversation_id: cid, user_ids: ['u7'] });
    expect(h.sim.cardSeenBy('w-bot', 'u7')).toEqual({ status: 'triggered' }); // a member added later sees it too
  });

  it('reports an unknown DM user in deliverResults, not as a refusal', async () => {
    const r = await h.call('POST', PATHS.create, dmCard('ghost-card', 'ghost'));
    expect(r.status).toBe(200);
    expect(r.json.result.deliverResults).toEqual([{ spaceType: 'IM_ROBOT', spaceId: 'ghost', success: false, errorMsg: expect.any(String) }]);
  });

  it('takes unionIds with userIdType 2', async () => {
    await h.call('POST', PATHS.create, dmCard('by-union', 'unionZhang', { userIdType: 2, privateData: { unionZhang: { cardParamMap: { p: '1' } } } }));
    expect(h.sim.cardSeenBy('by-union', 'u1')).toEqual({ status: 'triggered', title: 'P1 db down', p: '1' });
  });

  const big = 'x'.repeat(1025);
  it.each([
    ['an empty body', {}, 'param.empty'],
    ['no cardTemplateId', { cardTemplateId: undefined }, 'param.cardTemplateIdEmpty'],
    ['no outTrackId', { outTrackId: '' }, 'param.outTrackIdEmpty'],
    ['a 65-character outTrackId', { outTrackId: 'o'.repeat(65) }, 'param.invalid'],
    ['no cardData', { cardData: undefined }, 'param.cardPublicDataEmpty'],
    ['a number in cardParamMap', { cardData: { cardParamMap: { n: 1 } } }, 'param.invalid'],
    ['a value over 1 KB', { cardData: { cardParamMap: { v: big } } }, 'param.invalid'],
    ['a key over 100 bytes', { cardData: { cardParamMap: { ['k'.repeat(101)]: 'v' } } }, 'param.invalid'],
    ['private data for a user outside the org', { privateData: { ghost: { cardParamMap: { a: 'b' } } } }, 'param.userIdNotExist'],
    ['userIdType 3', { userIdType: 3 }, 'param.invalid'],
    ['no openSpaceId', { openSpaceId: undefined }, 'param.openSpaceIdEmpty'],
    ['an openSpaceId without its prefix', { openSpaceId: 'IM_ROBOT.u1' }, 'param.openSpaceIdInvalid'],
    ['two DMs in one call', { openSpaceId: 'dtv1.card//IM_ROBOT.u1;IM_ROBOT.u2' }, 'param.openSpaceIdInvalid'],
    ['an IM_SINGLE space (not simulated)', { openSpaceId: 'dtv1.card//IM_SINGLE.cid1' }, 'param.openSpaceIdInvalid'],
    ['an unknown template', { cardTemplateId: 'tplnope' }, 'param.templateNotExist'],
    ["another app's template", { cardTemplateId: 'tplother' }, 'param.templateNotExist'],
    ['an unpublished template', { cardTemplateId: 'tpldraft' }, 'param.templateUnpublished'],
    ['callbackType in lower case', { callbackType: 'http' }, 'param.invalid'],
    ['an HTTP callback with an unregistered route key', { callbackType: 'HTTP', callbackRouteKey: 'nokey' }, 'param.invalid'],
    ['no robot deliver model', { imRobotOpenDeliverModel: undefined }, 'param.openDeliverModelEmpty'],
    ["a robotCode not the app's", { imRobotOpenDeliverModel: { spaceType: 'IM_ROBOT', robotCode: 'dingwarbot' } }, 'param.openDeliverModelError'],
    ['a space model without supportForward', { imRobotOpenSpaceModel: {} }, 'param.openSpaceModelInvalid'],
  ])('refuses %s', async (_name, extra, code) => {
    const body = Object.keys(extra).length ? { ...dmCard('r1', 'u1'), ...extra } : {};
    expectRefused(h, await h.call('POST', PATHS.create, body), 400, code);
    expect(h.sim.cards()).toEqual([]);
  });

  it.each([
    ['a group card without its deliver model', groupCard('r2', 'cidOps==', APP.clientId, { imGroupOpenDeliverModel: undefined }), 'param.openDeliverModelEmpty'],
    ['a group card without robotCode', groupCard('r2', 'cidOps==', APP.clientId, { imGroupOpenDeliverModel: {} }), 'param.openDeliverModelError'],
    ['a group card for a recipient outside the org', groupCard('r2', 'cidOps==', APP.clientId, { imGroupOpenDeliverModel: { robotCode: APP.clientId, recipients: ['ghost'] } }), 'param.userIdNotExist'],
    ['a top card without topOpenSpaceModel', topCard('r2', 'cidOps==', 1, { topOpenSpaceModel: undefined }), 'param.openSpaceModelInvalid'],
    ['a top card without expiredTimeMillis', topCard('r2', 'cidOps==', 1, { topOpenDeliverModel: {} }), 'param.openDeliverModelError'],
    ['a top card for 101 users', topCard('r2', 'cidOps==', 1, { topOpenDeliverModel: { expiredTimeMillis: 1, userIds: Array.from({ length: 101 }, () => 'u1') } }), 'param.invalid'],
    ['a top card on a bad platform', topCard('r2', 'cidOps==', 1, { topOpenDeliverModel: { expiredTimeMillis: 1, platforms: ['web'] } }), 'param.invalid'],
  ])('refuses %s', async (_name, body, code) => {
    expectRefused(h, await h.call('POST', PATHS.create, body), 400, code);
    expect(h.sim.cards()).toEqual([]);
  });

  it('refuses a reused outTrackId (param.cardAlreadyExist), from the same app or another', async () => {
    expect((await h.call('POST', PATHS.create, dmCard('once', 'u1'))).status).toBe(200);
    expectRefused(h, await h.call('POST', PATHS.create, dmCard('once', 'u2')), 400, 'param.cardAlreadyExist');
    const other = { ...dmCard('once', 'u2'), cardTemplateId: 'tplother', imRobotOpenDeliverModel: { spaceType: 'IM_ROBOT', robotCode: OTHER.clientId } };
    expectRefused(h, await h.call('POST', PATHS.create, other, await h.token(OTHER)), 400, 'param.cardAlreadyExist');
    expect(h.sim.cards().map((c) => c.spaces[0].spaceId)).toEqual(['u1']);
  });

  it('checks the token, the QPS window and the monthly quota like every new API (§0, §8)', async () => {
    expectRefused(h, await h.call('POST', PATHS.create, dmCard('t1', 'u1'), 'not-a-token'), 400, 'InvalidAuthentication');
    h.sim.setQuotaUsed(CORP, 100_000);
    expectRefused(h, await h.call('POST', PATHS.create, dmCard('t1', 'u1')), 403, 'Forbidden.AccessDenied.ApiCountLimitForOrg');
    expect(h.sim.pastQuotaCount()).toBe(1);
    await h.sim.close();
    h = await harness({ ...APP, qps: 2 });
    await h.token();
    const all = await Promise.all(['q1', 'q2', 'q3'].map((id) => h.call('POST', PATHS.create, dmCard(id, 'u1'))));
    expect(all.map((r) => r.status).sort()).toEqual([200, 200, 403]);
    expect(all.find((r) => r.status === 403)?.json.code).toBe('Forbidden.AccessDenied.QpsLimitForAppkeyAndApi');
    expect(h.sim.overLimitCount()).toBe(1);
  });
});

describe('top card (§9.1, §9.5)', () => {
  it('opens for the group until it expires or is closed, ten at most per conversation', async () => {
    const until = h.clock.now + 60_000;
    const r = await h.call('POST', PATHS.create, topCard('top1', 'cidOps==', until, { topOpenDeliverModel: { expiredTimeMillis: until, userIds: ['u1', 'u2'] } }));
    expect(r.json.result.deliverResults).toEqual([{ spaceType: 'ONE_BOX', spaceId: 'cidOps==', success: true, carrierId: expect.any(String) }]);
    expect(h.sim.cardSeenBy('top1', 'u2')).toEqual({ status: 'triggered' });
    expect(h.sim.cardSeenBy('top1', 'u3')).toBeUndefined(); // not in userIds
    for (let i = 2; i <= 10; i++) await h.call('POST', PATHS.create, topCard(`top${i}`, 'cidOps==', until));
    const eleventh = await h.call('POST', PATHS.create, topCard('top11', 'cidOps==', until));
    expect(eleventh.json.result.deliverResults[0]).toMatchObject({ success: false, errorMsg: expect.any(String) });
    expect((await h.call('POST', `${PATHS.topClose}?outTrackId=top1&openConversationId=cidOps%3D%3D`, {})).json).toEqual({ success: true, result: true });
    expect(h.sim.cardSeenBy('top1', 'u1')).toBeUndefined();
    expect(h.sim.cardSeenBy('top2', 'u4')).toEqual({ status: 'triggered' });
    h.clock.now = until;
    expect(h.sim.cardSeenBy('top2', 'u4')).toBeUndefined(); // expired
  });

  it.each([
    ['no parameters', '', 'param.empty'],
    ['no outTrackId', '?openConversationId=cidOps%3D%3D', 'param.outTrackIdEmpty'],
    ['an unknown card', '?outTrackId=nope&openConversationId=cidOps%3D%3D', 'param.cardNotExist'],
    ['a conversation the card is not on top of', '?outTrackId=topA&openConversationId=cidOther', 'param.conversationIdInvalid'],
    ['a card that is not a top card', '?outTrackId=dmA&openConversationId=cidOps%3D%3D', 'param.conversationIdInvalid'],
  ])('close refuses %s', async (_name, query, code) => {
    await h.call('POST', PATHS.create, topCard('topA', 'cidOps==', h.clock.now + 60_000));
    await h.call('POST', PATHS.create, dmCard('dmA', 'u1'));
    expectRefused(h, await h.call('POST', PATHS.topClose + query, {}), 400, code);
    expect(h.sim.cardSeenBy('topA', 'u1')).toBeDefined();
  });
});

describe('card update by outTrackId (§9.2)', () => {
  beforeEach(async () => {
    await h.call('POST', PATHS.create, dmCard('c1', 'u1', { privateData: { u1: { cardParamMap: { a: '1', b: '2' } } } }));
    await h.call('POST', PATHS.create, groupCard('c2', 'cidOps=='));
  });

  it('replaces the data unless told to merge by key, per user for private data', async () => {
    expect((await h.call('PUT', PATHS.update, { outTrackId: 'c1', cardData: { cardParamMap: { status: 'acknowledged' } } })).json).toEqual({ success: true, result: true });
    expect(h.sim.cardSeenBy('c1', 'u1')).toEqual({ status: 'acknowledged', a: '1', b: '2' });
    await h.call('PUT', PATHS.update, { outTrackId: 'c1', cardData: { cardParamMap: { by: 'Zhang' } }, privateData: { u1: { cardParamMap: { a: '9' } } }, cardUpdateOptions: { updateCardDataByKey: true, updatePrivateDataByKey: true } });
    expect(h.sim.cardSeenBy('c1', 'u1')).toEqual({ status: 'acknowledged', by: 'Zhang', a: '9', b: '2' });
    await h.call('PUT', PATHS.update, { outTrackId: 'c1', privateData: { u1: { cardParamMap: { c: '3' } } } });
    expect(h.sim.cardSeenBy('c1', 'u1')).toEqual({ status: 'acknowledged', by: 'Zhang', c: '3' });
    await h.call('PUT', PATHS.update, { outTrackId: 'c2', cardData: { cardParamMap: { status: 'closed' } } });
    for (const u of ['u1', 'u5']) expect(h.sim.cardSeenBy('c2', u)).toEqual({ status: 'closed' });
    expect(h.sim.card('c2')?.updates).toBe(1);
    expect(h.sim.calls.at(-1)).toMatchObject({ api: 'cardUpdate', counted: true });
  });

  it.each([
    ['no outTrackId', { cardData: { cardParamMap: { s: 'x' } } }, 'param.outTrackIdEmpty'],
    ['neither data', { outTrackId: 'c1' }, 'param.cardDataAndPrivateDataBothEmpty'],
    ['an unknown card', { outTrackId: 'nope', cardData: { cardParamMap: { s: 'x' } } }, 'param.cardNotExist'],
    ['private data for a user outside the org', { outTrackId: 'c1', privateData: { ghost: { cardParamMap: { s: 'x' } } } }, 'param.userIdNotExist'],
    ['a value over 1 KB', { outTrackId: 'c1', cardData: { cardParamMap: { s: 'x'.repeat(1025) } } }, 'param.invalid'],
  ])('refuses %s', async (_name, body, code) => {
    expectRefused(h, await h.call('PUT', PATHS.update, body), 400, code);
    expect(h.sim.card('c1')?.updates).toBe(0);
  });

  it("refuses another app's card as not existing", async () => {
    expectRefused(h, await h.call('PUT', PATHS.update, { outTrackId: 'c1', cardData: { cardParamMap: { s: 'x' } } }, await h.token(OTHER)), 400, 'param.cardNotExist');
  });
});
