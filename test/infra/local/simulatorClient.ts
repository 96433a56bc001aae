/** Test helpers: a DingTalk simulator on a settable clock, and its routes called over real HTTP. */
import { startSimulator, type SimApp, type Simulator } from '../../../infra/local/dingtalkSimulator/simulator';

export const CORP = 'dingcorpcards';
export const APP: SimApp = { clientId: 'dingcardapp', clientSecret: 'secret-cards', corpId: CORP, qps: 1000, monthlyQuota: 100_000 };
export const OTHER: SimApp = { clientId: 'dingotherapp', clientSecret: 'secret-other', corpId: CORP, qps: 1000, monthlyQuota: 100_000 };
export const PATHS = {
  token: '/v1.0/oauth2/accessToken',
  create: '/v1.0/card/instances/createAndDeliver',
  update: '/v1.0/card/instances',
  register: '/v1.0/card/callbacks/register',
  topClose: '/v1.0/card/tops/close',
  sceneCreate: '/v1.0/im/sceneGroup/create',
  sceneAdd: '/v1.0/im/sceneGroup/member/add',
  disband: '/v1.0/im/chat/scenegroup/disband',
  groupSend: '/v1.0/robot/groupMessages/send',
  userInfo: '/topapi/v2/user/getuserinfo',
} as const;
export const TEMPLATE = 'tplcard.schema';

export interface Res { status: number; json: any }
export interface Harness {
  sim: Simulator;
  clock: { now: number };
  /** A new-API call with the app's token (or `token`). */
  call(method: string, path: string, body: unknown, token?: string): Promise<Res>;
  /** An old-API call, token as ?access_token=. */
  oldCall(path: string, body: unknown, token?: string): Promise<Res>;
  token(app?: SimApp): Promise<string>;
}

/** A simulator with two apps of one organisation, users u1..u20 (Zhang u1), a group of u1..u5 and a scene-group template. */
export async function harness(app: SimApp = APP): Promise<Harness> {
  const clock = { now: Date.UTC(2026, 10, 30, 2, 0, 0) };
  const sim = await startSimulator({ now: () => clock.now });
  sim.addApp(app);
  sim.addApp(OTHER);
  for (let i = 1; i <= 20; i++) sim.addUser(CORP, { userId: `u${i}`, ...(i === 1 ? { name: 'Zhang', unionId: 'unionZhang' } : {}) });
  sim.addGroup(CORP, { openConversationId: 'cidOps==', members: ['u1', 'u2', 'u3', 'u4', 'u5'] });
  sim.addTemplate(CORP, { templateId: 'tplwar', botId: 'dingwarbot', installDelayMs: 1000 });
  sim.addCardTemplate(app.clientId, { templateId: TEMPLATE, privateParams: ['notice', 'note', 'hint', 'p', 'a', 'b', 'c'] });
  sim.addCardTemplate(app.clientId, { templateId: 'tpldraft', published: false });
  sim.addCardTemplate(OTHER.clientId, { templateId: 'tplother' });
  const tokens = new Map<string, string>();
  const raw = async (method: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Res> => {
    const r = await fetch(sim.url + path, { method, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    const text = await r.text();
    let json: any;
    try { json = JSON.parse(text); } catch { json = text; }
    return { status: r.status, json };
  };
  const token = async (a: SimApp = app): Promise<string> => {
    const cached = tokens.get(a.clientId);
    if (cached) return cached;
    const r = await raw('POST', PATHS.token, { appKey: a.clientId, appSecret: a.clientSecret });
    tokens.set(a.clientId, r.json.accessToken);
    return r.json.accessToken as string;
  };
  return {
    sim, clock, token,
    call: async (method, path, body, tok) => raw(method, path, body, { 'x-acs-dingtalk-access-token': tok ?? await token() }),
    oldCall: async (path, body, tok) => raw('POST', `${path}?access_token=${encodeURIComponent(tok ?? await token())}`, body),
  };
}

/** A createAndDeliver body for the app robot's DM with `userId`. */
export const dmCard = (outTrackId: string, userId: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  cardTemplateId: TEMPLATE, outTrackId, openSpaceId: `dtv1.card//IM_ROBOT.${userId}`,
  cardData: { cardParamMap: { status: 'triggered', title: 'P1 db down' } },
  imRobotOpenSpaceModel: { supportForward: false },
  imRobotOpenDeliverModel: { spaceType: 'IM_ROBOT', robotCode: APP.clientId },
  ...extra,
});

/** A createAndDeliver body for a group, sent by `robotCode`. */
export const groupCard = (outTrackId: string, cid: string, robotCode: string = APP.clientId, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  cardTemplateId: TEMPLATE, outTrackId, openSpaceId: `dtv1.card//IM_GROUP.${cid}`,
  cardData: { cardParamMap: { status: 'triggered' } },
  imGroupOpenSpaceModel: { supportForward: true },
  imGroupOpenDeliverModel: { robotCode },
  ...extra,
});

/** A createAndDeliver body for a group's top card, expiring at `expiredTimeMillis`. */
export const topCard = (outTrackId: string, cid: string, expiredTimeMillis: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  cardTemplateId: TEMPLATE, outTrackId, openSpaceId: `dtv1.card//ONE_BOX.${cid}`,
  cardData: { cardParamMap: { status: 'triggered' } },
  topOpenSpaceModel: { spaceType: 'ONE_BOX' },
  topOpenDeliverModel: { expiredTimeMillis },
  ...extra,
});

/** A documented refusal: the status, DingTalk's new-API error body, and nothing counted. */
export function expectRefused(h: Harness, r: Res, status: number, code: string): void {
  expect({ status: r.status, code: r.json?.code }).toEqual({ status, code });
  expect(r.json).toEqual({ code, message: expect.any(String), requestid: expect.any(String) });
  expect(h.sim.calls.at(-1)).toMatchObject({ status, code, counted: false });
}
