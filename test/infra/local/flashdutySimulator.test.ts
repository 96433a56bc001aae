import { startFlashdutySimulator, type FlashdutySimulator, type FlashdutySimulatorOptions } from '../../../infra/local/flashdutySimulator/simulator';
import { seedFlashduty } from '../../../infra/local/flashdutySimulator/local';

/** The Flashduty simulator through its real HTTP server, rule by rule as docs/flashduty-api.md gives them. */
const ACCOUNT = 1001;
const OTHER_ACCOUNT = 1002;
const KEY = 'key-all';
const READ_KEY = 'key-read';
const OTHER_KEY = 'key-other';
const ACTOR = 5001;
const T = '6a0000000000000000000001'; // Triggered
const P = '6a0000000000000000000002'; // Processing
const C = '6a0000000000000000000003'; // Closed
const FOREIGN = '6a00000000000000000000ff'; // another account's incident

let sim: FlashdutySimulator;
let clock = 1_800_000_000_000;

async function start(opts: FlashdutySimulatorOptions = {}): Promise<FlashdutySimulator> {
  const s = await startFlashdutySimulator({ now: () => clock, ...opts });
  s.addAccount({ accountId: ACCOUNT, appKey: KEY, creatorId: ACTOR });
  s.addAccount({ accountId: ACCOUNT, appKey: READ_KEY, scope: 'read', creatorId: ACTOR });
  s.addAccount({ accountId: OTHER_ACCOUNT, appKey: OTHER_KEY });
  s.addMember(ACCOUNT, { personId: ACTOR, name: 'Responder', phone: '13800000001' });
  s.addIncident(ACCOUNT, { incidentId: T, title: 'CPU high', responderIds: [ACTOR] });
  s.addIncident(ACCOUNT, { incidentId: P, progress: 'Processing' });
  s.addIncident(ACCOUNT, { incidentId: C, progress: 'Closed' });
  s.addIncident(OTHER_ACCOUNT, { incidentId: FOREIGN });
  return s;
}

interface Res { status: number; json: any; requestIdHeader: string | null }
async function call(path: string, body: unknown, opts: { key?: string | null; method?: string; type?: string; signal?: AbortSignal } = {}): Promise<Res> {
  const key = opts.key === undefined ? KEY : opts.key;
  const r = await fetch(`${sim.url}${path}${key === null ? '' : `?app_key=${encodeURIComponent(key)}`}`, {
    method: opts.method ?? 'POST', signal: opts.signal,
    headers: { 'content-type': opts.type ?? 'application/json' },
    body: opts.method === 'GET' ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : undefined, requestIdHeader: r.headers.get('flashcat-request-id') };
}
const refusal = (status: number, code: string) => ({ status, json: { request_id: expect.any(String), error: { code, message: expect.any(String) } } });

beforeEach(async () => { clock = 1_800_000_000_000; sim = await start(); });
afterEach(async () => { await sim?.close(); });

describe('accepted calls (§3–§8)', () => {
  it('acknowledges: Triggered → Processing, {request_id, data: {}}, the request id mirrored in a header, one action recorded', async () => {
    const r = await call('/incident/ack', { incident_ids: [T] });
    expect(r).toMatchObject({ status: 200, json: { request_id: expect.any(String), data: {} } });
    expect(r.requestIdHeader).toBe(r.json.request_id);
    expect(sim.incident(ACCOUNT, T)).toMatchObject({ progress: 'Processing', ackTime: clock / 1000, responders: [{ personId: ACTOR, acknowledgedAt: clock / 1000 }] });
    expect(sim.actions()).toEqual([{ at: clock, api: 'ack', accountId: ACCOUNT, incidentIds: [T] }]);
    expect(sim.calls).toEqual([expect.objectContaining({ api: 'ack', accountId: ACCOUNT, status: 200 })]);
    expect((await call('/incident/ack', { incident_ids: [T] })).status).toBe(200); // a repeat keeps the progress (§9)
    expect(sim.incident(ACCOUNT, T)?.progress).toBe('Processing');
  });

  it('closes from any progress, with resolution and root cause; closing again changes nothing', async () => {
    expect((await call('/incident/resolve', { incident_ids: [T, P], resolution: 'restarted', root_cause: 'leak' })).status).toBe(200);
    expect(sim.incident(ACCOUNT, T)).toMatchObject({ progress: 'Closed', closerId: ACTOR, resolution: 'restarted', rootCause: 'leak' });
    expect(sim.incident(ACCOUNT, P)?.progress).toBe('Closed');
    clock += 5000;
    expect((await call('/incident/resolve', { incident_ids: [C, T] })).status).toBe(200);
    expect(sim.incident(ACCOUNT, T)?.closeTime).toBe((clock - 5000) / 1000);
    expect(sim.actions().map((a) => [a.api, a.incidentIds, a.resolution])).toEqual([['resolve', [T, P], 'restarted'], ['resolve', [C, T], undefined]]);
  });

  it('snoozes an acknowledged incident for 1 to 1440 minutes; when the snooze runs out it is Triggered again', async () => {
    expect((await call('/incident/snooze', { incident_ids: [P], minutes: 1 })).status).toBe(200);
    expect((await call('/incident/snooze', { incident_ids: [P], minutes: 1440 })).status).toBe(200);
    expect(sim.incident(ACCOUNT, P)).toMatchObject({ progress: 'Processing', snoozedBefore: clock / 1000 + 1440 * 60 });
    expect(sim.actions().map((a) => a.minutes)).toEqual([1, 1440]);
    clock += 1440 * 60_000;
    expect(sim.incident(ACCOUNT, P)).toMatchObject({ progress: 'Triggered', snoozedBefore: 0 });
  });

  it('adds a timeline comment and reads the incident and members', async () => {
    expect((await call('/incident/comment', { incident_ids: [T], comment: 'Acknowledged in DingTalk by 张三', mute_reply: true })).status).toBe(200);
    expect(sim.actions()).toEqual([expect.objectContaining({ api: 'comment', comment: 'Acknowledged in DingTalk by 张三', muteReply: true })]);
    const info = await call('/incident/info', { incident_id: T }, { key: READ_KEY });
    expect(info.json.data).toMatchObject({
      incident_id: T, title: 'CPU high', progress: 'Triggered', ack_time: 0, snoozed_before: 0,
      responders: [{ person_id: ACTOR, acknowledged_at: 0 }], detail_url: expect.stringContaining(T),
    });
    const people = await call('/person/infos', { person_ids: [ACTOR, 999] }, { key: READ_KEY });
    expect(people.json.data).toEqual({ items: [expect.objectContaining({ person_id: ACTOR, person_name: 'Responder', phone: '13800000001' })] });
    expect(sim.actions()).toHaveLength(1); // reads are not actions
  });
});

describe('refusals (§0–§2, §9, §10): the error envelope, nothing changes, no action', () => {
  afterEach(() => {
    expect(sim.actions()).toEqual([]);
    expect(sim.incident(ACCOUNT, T)?.progress).toBe('Triggered');
  });

  it.each([
    ['an unknown route', '/incident/unack', { incident_ids: [T] }, {}, 404, 'RouteNotFound'],
    ['GET', '/incident/ack', undefined, { method: 'GET' }, 400, 'MethodNotAllowed'],
    ['no app_key', '/incident/ack', { incident_ids: [T] }, { key: null }, 401, 'Unauthorized'],
    ['an unknown app_key', '/incident/ack', { incident_ids: [T] }, { key: 'nope' }, 401, 'Unauthorized'],
    ['a read-only key writing', '/incident/ack', { incident_ids: [T] }, { key: READ_KEY }, 403, 'AccessDenied'],
    ['a form body', '/incident/ack', 'incident_ids=x', { type: 'application/x-www-form-urlencoded' }, 400, 'InvalidContentType'],
    ['a body that is not JSON', '/incident/ack', '{incident_ids', {}, 400, 'InvalidParameter'],
    ['an empty body', '/incident/ack', '', {}, 400, 'InvalidParameter'],
    ['a JSON array body', '/incident/ack', [T], {}, 400, 'InvalidParameter'],
    ['no incident_ids', '/incident/ack', {}, {}, 400, 'InvalidParameter'],
    ['incident_ids as a string', '/incident/ack', { incident_ids: T }, {}, 400, 'InvalidParameter'],
    ['a number in incident_ids', '/incident/ack', { incident_ids: [1] }, {}, 400, 'InvalidParameter'],
    ['empty incident_ids', '/incident/ack', { incident_ids: [] }, {}, 400, 'InvalidParameter'],
    ['101 incident_ids', '/incident/ack', { incident_ids: Array.from({ length: 101 }, () => T) }, {}, 400, 'InvalidParameter'],
    ['an unknown incident', '/incident/ack', { incident_ids: ['6a00000000000000000000aa'] }, {}, 400, 'InvalidParameter'],
    ['one unknown incident in a batch', '/incident/resolve', { incident_ids: [T, 'nope'] }, {}, 400, 'InvalidParameter'],
    ["another account's incident", '/incident/resolve', { incident_ids: [FOREIGN] }, {}, 400, 'InvalidParameter'],
    ['snooze minutes 0', '/incident/snooze', { incident_ids: [P], minutes: 0 }, {}, 400, 'InvalidParameter'],
    ['snooze minutes 1441', '/incident/snooze', { incident_ids: [P], minutes: 1441 }, {}, 400, 'InvalidParameter'],
    ['snooze minutes 1.5', '/incident/snooze', { incident_ids: [P], minutes: 1.5 }, {}, 400, 'InvalidParameter'],
    ['snooze minutes as a string', '/incident/snooze', { incident_ids: [P], minutes: '60' }, {}, 400, 'InvalidParameter'],
    ['snooze without minutes', '/incident/snooze', { incident_ids: [P] }, {}, 400, 'InvalidParameter'],
    ['snooze before an ack', '/incident/snooze', { incident_ids: [T], minutes: 60 }, {}, 400, 'InvalidParameter'],
    ['snooze of a closed incident', '/incident/snooze', { incident_ids: [C], minutes: 60 }, {}, 400, 'InvalidParameter'],
    ['ack of a closed incident with a live one', '/incident/ack', { incident_ids: [T, C] }, {}, 400, 'InvalidParameter'],
    ['resolution as a number', '/incident/resolve', { incident_ids: [T], resolution: 1 }, {}, 400, 'InvalidParameter'],
    ['a comment without text', '/incident/comment', { incident_ids: [T] }, {}, 400, 'InvalidParameter'],
    ['mute_reply as a string', '/incident/comment', { incident_ids: [T], comment: 'x', mute_reply: 'yes' }, {}, 400, 'InvalidParameter'],
    ['info without incident_id', '/incident/info', {}, {}, 400, 'InvalidParameter'],
    ['info of an unknown incident', '/incident/info', { incident_id: 'nope' }, {}, 400, 'InvalidParameter'],
    ['person ids as strings', '/person/infos', { person_ids: ['5001'] }, {}, 400, 'InvalidParameter'],
    ['101 person ids', '/person/infos', { person_ids: Array.from({ length: 101 }, (_, i) => i + 1) }, {}, 400, 'InvalidParameter'],
  ] as Array<[string, string, unknown, Parameters<typeof call>[2], number, string]>)('refuses %s', async (_name, path, body, opts, status, code) => {
    const r = await call(path, body, opts);
    expect(r).toMatchObject(refusal(status, code));
    expect(r.requestIdHeader).toBe(r.json.request_id);
    expect(sim.calls.at(-1)).toMatchObject({ status, code });
  });
});

describe('rate limits (§2)', () => {
  it('answers 429 past 50 requests in a second per account, counts only admitted ones, and frees up after the second', async () => {
    for (let i = 0; i < 50; i++) expect((await call('/incident/info', { incident_id: T })).status).toBe(200);
    expect(await call('/incident/ack', { incident_ids: [T] })).toMatchObject(refusal(429, 'RequestTooFrequently'));
    expect((await call('/incident/ack', { incident_ids: [FOREIGN] }, { key: OTHER_KEY })).status).toBe(200); // another account
    expect(sim.actions().map((a) => a.accountId)).toEqual([OTHER_ACCOUNT]);
    clock += 1000;
    expect((await call('/incident/ack', { incident_ids: [T] })).status).toBe(200);
  });

  it('answers 429 past the per-minute limit', async () => {
    await sim.close();
    sim = await start({ rateLimits: { perSecond: 50, perMinute: 3 } });
    for (let i = 0; i < 3; i++) { expect((await call('/incident/info', { incident_id: T })).status).toBe(200); clock += 1000; }
    expect((await call('/incident/info', { incident_id: T })).status).toBe(429);
    clock += 60_000;
    expect((await call('/incident/info', { incident_id: T })).status).toBe(200);
  });
});

describe('injected faults', () => {
  it.each([
    ['5xx', 500, 'InternalError'],
    ['rateLimit', 429, 'RequestTooFrequently'],
  ] as const)('%s: refused before anything changes, then the next call goes through', async (kind, status, code) => {
    sim.inject({ api: 'ack', kind, count: 1 });
    expect(await call('/incident/ack', { incident_ids: [T] })).toMatchObject(refusal(status, code));
    expect(sim.incident(ACCOUNT, T)?.progress).toBe('Triggered');
    expect(sim.calls.at(-1)?.fault).toBe(kind);
    expect((await call('/incident/ack', { incident_ids: [T] })).status).toBe(200);
    expect(sim.actions()).toHaveLength(1);
  });

  it('timeout: no answer, nothing changes; reset: the connection drops', async () => {
    sim.inject({ kind: 'timeout', count: 1 });
    await expect(call('/incident/ack', { incident_ids: [T] }, { signal: AbortSignal.timeout(300) })).rejects.toThrow();
    sim.inject({ kind: 'reset', count: 1 });
    await expect(call('/incident/ack', { incident_ids: [T] })).rejects.toThrow();
    expect(sim.actions()).toEqual([]);
    expect(sim.incident(ACCOUNT, T)?.progress).toBe('Triggered');
  });

  it('applyThen5xx / applyThenTimeout: the change is made and recorded with answerLost, the caller sees a failure', async () => {
    sim.inject({ api: 'ack', kind: 'applyThen5xx', count: 1 });
    expect(await call('/incident/ack', { incident_ids: [T] })).toMatchObject(refusal(500, 'InternalError'));
    sim.inject({ api: 'snooze', kind: 'applyThenTimeout', count: 1 });
    await expect(call('/incident/snooze', { incident_ids: [T], minutes: 120 }, { signal: AbortSignal.timeout(300) })).rejects.toThrow();
    expect(sim.incident(ACCOUNT, T)).toMatchObject({ progress: 'Processing', snoozedBefore: clock / 1000 + 7200 });
    expect(sim.actions()).toEqual([
      expect.objectContaining({ api: 'ack', answerLost: true }),
      expect.objectContaining({ api: 'snooze', minutes: 120, answerLost: true }),
    ]);
  });

  it('an apply-then fault on a refused call answers the refusal and changes nothing', async () => {
    sim.inject({ kind: 'applyThen5xx', count: 1 });
    expect(await call('/incident/snooze', { incident_ids: [T], minutes: 60 })).toMatchObject(refusal(400, 'InvalidParameter'));
    expect(sim.actions()).toEqual([]);
  });
});

describe('the local seed', () => {
  it('gives the local stack a demo account whose key acts on its incidents', async () => {
    await sim.close();
    sim = await startFlashdutySimulator();
    seedFlashduty(sim);
    expect((await call('/incident/ack', { incident_ids: ['69da451ef77b1b51f40e83ee'] }, { key: 'fd-local-app-key' })).status).toBe(200);
    expect((await call('/incident/ack', { incident_ids: ['69da451ef77b1b51f40e83ee'] }, { key: 'fd-local-read-key' })).status).toBe(403);
    expect(sim.actions()).toEqual([expect.objectContaining({ api: 'ack', incidentIds: ['69da451ef77b1b51f40e83ee'] })]);
  });
});
