import { createAndDeliver, registerCallback, updateCard } from '../../../lib/cards/api';
import { DingTalkClient } from '../../../lib/dingtalk/client';

/** A client whose fetch answers `status` / `body` and remembers the request. */
function clientAnswering(status: number, body: unknown) {
  const seen: Array<{ url: string; method?: string; body?: string; token?: string }> = [];
  const fetch = (async (url: string, init: RequestInit) => {
    seen.push({ url, method: init.method, body: init.body as string | undefined, token: (init.headers as Record<string, string>)['x-acs-dingtalk-access-token'] });
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  }) as unknown as typeof globalThis.fetch;
  return { client: new DingTalkClient({ apiUrl: 'https://api.test', oapiUrl: 'https://oapi.test', fetch }), seen };
}

const req = { cardTemplateId: 'tpl', outTrackId: 'dtb1', cardData: { cardParamMap: { a: 'b' } }, openSpaceId: 'dtv1.card//IM_ROBOT.u1' };

describe('card API wrappers (docs/dingtalk-api.md §9)', () => {
  it('createAndDeliver: delivered to every space is ok', async () => {
    const { client, seen } = clientAnswering(200, { success: true, result: { outTrackId: 'dtb1', deliverResults: [{ spaceType: 'IM_ROBOT', spaceId: 'u1', success: true, carrierId: 'c' }] } });
    const r = await createAndDeliver(client, 'tok', req);
    expect(r).toMatchObject({ kind: 'ok', data: { alreadyExisted: false } });
    expect(seen).toEqual([{ url: 'https://api.test/v1.0/card/instances/createAndDeliver', method: 'POST', body: JSON.stringify(req), token: 'tok' }]);
  });

  it('createAndDeliver: a space not delivered to is a permanent failure naming it and its errorMsg', async () => {
    const { client } = clientAnswering(200, { success: true, result: { deliverResults: [{ spaceType: 'IM_GROUP', spaceId: 'cid1', success: false, errorMsg: 'robot not in group' }] } });
    expect(await createAndDeliver(client, 'tok', req)).toMatchObject({ kind: 'permanent', code: 'card.spaceFailed', message: 'card not delivered to IM_GROUP.cid1: robot not in group' });
  });

  it('createAndDeliver: param.cardAlreadyExist is our earlier create: ok', async () => {
    const { client } = clientAnswering(400, { code: 'param.cardAlreadyExist', message: 'exists' });
    expect(await createAndDeliver(client, 'tok', req)).toMatchObject({ kind: 'ok', data: { alreadyExisted: true } });
  });

  it('createAndDeliver: other refusals are classified as usual', async () => {
    expect(await createAndDeliver(clientAnswering(400, { code: 'param.templateNotExist', message: 'x' }).client, 'tok', req)).toMatchObject({ kind: 'permanent', code: 'param.templateNotExist' });
    expect(await createAndDeliver(clientAnswering(500, { code: 'system.busy', message: 'x' }).client, 'tok', req)).toMatchObject({ kind: 'retryable' });
  });

  it('update is a PUT; register a POST; close a POST with query parameters', async () => {
    const u = clientAnswering(200, { success: true, result: true });
    expect(await updateCard(u.client, 'tok', { outTrackId: 'dtb1', cardData: { cardParamMap: { s: 'x' } }, cardUpdateOptions: { updateCardDataByKey: true } })).toMatchObject({ kind: 'ok', data: { result: true } });
    expect(u.seen[0]).toMatchObject({ url: 'https://api.test/v1.0/card/instances', method: 'PUT' });
    const r = clientAnswering(200, { success: true, result: { callbackUrl: 'https://b.test/card/t', apiSecret: 's' } });
    expect(await registerCallback(r.client, 'tok', { callbackRouteKey: 'dtb-t', callbackUrl: 'https://b.test/card/t', apiSecret: 's', forceUpdate: true })).toMatchObject({ kind: 'ok', data: { callbackUrl: 'https://b.test/card/t' } });
    expect(r.seen[0]).toMatchObject({ url: 'https://api.test/v1.0/card/callbacks/register', method: 'POST' });
  });

  it('registration (§9.3): a route key taken elsewhere is permanent though answered 500; a failed update is retried though answered 400', async () => {
    const taken = clientAnswering(500, { code: 'param.callbackRouteKeyExist', message: 'exists', requestId: 'r1' });
    expect(await registerCallback(taken.client, 'tok', { callbackRouteKey: 'dtb-t', callbackUrl: 'https://b.test/card/t', apiSecret: 's', forceUpdate: true })).toMatchObject({ kind: 'permanent', code: 'param.callbackRouteKeyExist' });
    const failed = clientAnswering(400, { code: 'system.updateCallbackFailed', message: 'failed', requestId: 'r2' });
    expect(await registerCallback(failed.client, 'tok', { callbackRouteKey: 'dtb-t', callbackUrl: 'https://b.test/card/t', apiSecret: 's', forceUpdate: true })).toMatchObject({ kind: 'retryable', code: 'system.updateCallbackFailed' });
  });
});
