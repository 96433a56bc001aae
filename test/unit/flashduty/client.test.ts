import { applyIncidentAction, FlashdutyError } from '../../../lib/flashduty/client';

/** docs/flashduty-api.md §1: which answers are retried, and what the request looks like (§0, §3–§5). */
type Call = { url: string; init: RequestInit };
function fakeFetch(status: number, body: string, calls: Call[] = []): typeof fetch {
  return (async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    return new Response(body, { status, headers: { 'content-type': 'application/json' } });
  }) as unknown as typeof fetch;
}
const envelope = (code: string) => JSON.stringify({ request_id: 'r1', error: { code, message: 'm' } });

describe('the Flashduty client', () => {
  it('POSTs one incident with the APP Key as app_key; snooze acknowledges first and carries minutes; close is /incident/resolve', async () => {
    const calls: Call[] = [];
    const f = fakeFetch(200, '{"request_id":"r","data":{}}', calls);
    await applyIncidentAction({ baseUrl: 'https://fd.example/', appKey: 'k&1', fetch: f }, 'snooze', 'inc1', 120);
    await applyIncidentAction({ baseUrl: 'https://fd.example', appKey: 'k', fetch: f }, 'close', 'inc1');
    expect(calls.map((c) => [c.url, JSON.parse(String(c.init.body))])).toEqual([
      ['https://fd.example/incident/ack?app_key=k%261', { incident_ids: ['inc1'] }],
      ['https://fd.example/incident/snooze?app_key=k%261', { incident_ids: ['inc1'], minutes: 120 }],
      ['https://fd.example/incident/resolve?app_key=k', { incident_ids: ['inc1'] }],
    ]);
    expect(calls[0].init).toMatchObject({ method: 'POST', headers: { 'content-type': 'application/json' } });
  });

  it.each([
    [429, envelope('RequestTooFrequently'), true],
    [500, envelope('InternalError'), true],
    [502, '<html>bad gateway</html>', true],
    [200, '{}', true], // not the envelope: no data
    [200, '{"request_id":"r"}', true],
    [400, envelope('InvalidParameter'), false],
    [401, envelope('Unauthorized'), false],
    [403, envelope('AccessDenied'), false],
    [404, envelope('RouteNotFound'), false],
    [418, envelope('SomethingNew'), false],
  ])('HTTP %i is retryable: %s', async (status, body, retryable) => {
    const err = await applyIncidentAction({ baseUrl: 'https://fd', appKey: 'secret-key', fetch: fakeFetch(status, body) }, 'ack', 'i').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FlashdutyError);
    expect(err).toMatchObject({ retryable, httpStatus: status });
    expect((err as Error).message).not.toContain('secret-key');
  });

  it('a network failure or no answer is retryable', async () => {
    const broken = (async () => {
      throw new TypeError('fetch failed');
    }) as unknown as typeof fetch;
    await expect(applyIncidentAction({ baseUrl: 'https://fd', appKey: 'k', fetch: broken }, 'ack', 'i')).rejects.toMatchObject({ retryable: true, fdCode: 'network' });
    const slow = ((_u: string, init: RequestInit) => new Promise((_r, reject) => init.signal!.addEventListener('abort', () => reject(init.signal!.reason)))) as unknown as typeof fetch;
    await expect(applyIncidentAction({ baseUrl: 'https://fd', appKey: 'k', fetch: slow, timeoutMs: 20 }, 'ack', 'i')).rejects.toMatchObject({ retryable: true, fdCode: 'timeout' });
  });
});
