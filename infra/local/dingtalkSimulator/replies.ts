/**
 * DingTalk's answer shapes for the simulator: new-API `{code, message, requestid}` with an HTTP
 * status, old-API HTTP 200 + `errcode`, the gateway's errcode 88 + `sub_code`, and the IP-ban page.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * DingTalk's codes for the refusals the simulator makes, as docs/dingtalk-api.md gives them (the
 * section of each is in its comment). Every rule cites the section it follows.
 */
export const CODES = {
  invalidParameter: 'invalidParameter', // §2, §3: field errors, suffixed: 'invalidParameter.userIds'
  parameterInvalid: 'parameter.invalid', // §5.1, §5.2: scene-group bad input (a comma-joined string where an array is due)
  tooLong: 'invalidParameter.msgParam.tooLong', // §3: msgParam over 15,000 bytes
  robotNotInGroup: 'invalidParameter.robotCode.notExsit', // §3: robot not (yet) in the group or org
  groupNotExist: 'invalid.openConversationId', // §3: unknown group
  groupDisbanded: 'group.disbanded', // §3
  memberNotFound: 'member.notFound', // §5.1: owner (or member) userId unknown
  templateNotFound: 'groupTemplate.notFound', // §5.1
  sceneGroupNotExist: 'invalidOpenConversationId', // §5.2 (ERR): unknown scene group on member/add
  disbandParamIllegal: 'paramIllegal', // §5.3
  // §9.1, §9.2, §9.3, §9.5: the card routes
  cardParamEmpty: 'param.empty',
  cardParamInvalid: 'param.invalid',
  outTrackIdEmpty: 'param.outTrackIdEmpty',
  openSpaceIdEmpty: 'param.openSpaceIdEmpty',
  openSpaceIdInvalid: 'param.openSpaceIdInvalid',
  openSpaceModelInvalid: 'param.openSpaceModelInvalid',
  openDeliverModelEmpty: 'param.openDeliverModelEmpty',
  openDeliverModelError: 'param.openDeliverModelError',
  cardTemplateIdEmpty: 'param.cardTemplateIdEmpty',
  cardPublicDataEmpty: 'param.cardPublicDataEmpty',
  userIdNotExist: 'param.userIdNotExist',
  templateNotExist: 'param.templateNotExist',
  templateUnpublished: 'param.templateUnpublished',
  cardAlreadyExist: 'param.cardAlreadyExist',
  cardNotExist: 'param.cardNotExist',
  bothDataEmpty: 'param.cardDataAndPrivateDataBothEmpty',
  routeKeyEmpty: 'param.callbackRouteKeyEmpty',
  callbackUrlEmpty: 'param.callbackUrlEmpty',
  routeKeyExist: 'param.callbackRouteKeyExist',
  conversationIdInvalid: 'param.conversationIdInvalid',
} as const;

/** §0, §4, §10: old-API errcodes the simulator answers. */
export const ERRCODES = { badParameter: 400002, userNotFound: 60121, authCodeInvalid: 40078 } as const;

export interface Reply { status: number; body: unknown; code?: string; html?: boolean }
export class Rejection extends Error {
  constructor(readonly reply: Reply) { super(reply.code); }
}
export type Body = Record<string, unknown>;

export const requestId = (): string => randomUUID().toUpperCase();
export const ok = (body: unknown): Reply => ({ status: 200, body });
export const fail = (status: number, code: string, message: string): Reply => ({ status, code, body: { code, message, requestid: requestId() } });
export const oldOk = (result: unknown): Reply => ok({ errcode: 0, errmsg: 'ok', result, request_id: requestId() });
export const oldFail = (errcode: number, errmsg: string): Reply => ({ status: 200, code: String(errcode), body: { errcode, errmsg, request_id: requestId() } });
export const reject = (status: number, code: string, message: string): Rejection => new Rejection(fail(status, code, message));
export const invalid = (field: string, message: string): Rejection => reject(400, `${CODES.invalidParameter}.${field}`, message);
export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
export const isObject = (v: unknown): v is Body => typeof v === 'object' && v !== null && !Array.isArray(v);

/** §0, §8: the old API's gateway answers an auth or rate-limit refusal as errcode 88 with the real code in sub_code. */
const oldGateway = (subCode: string, subMsg: string): Reply => ({
  status: 200,
  code: `88/${subCode}`,
  body: { errcode: 88, errmsg: 'ding talk error[subcode=' + subCode + ',submsg=' + subMsg + ']', sub_code: subCode, sub_msg: subMsg, request_id: requestId() },
});

export type ErrorKind = '5xx' | 'qps' | 'html' | 'quota' | 'invalidToken' | 'sendTooFast' | 'byTokenTooFast' | 'qpm';
export function errorFor(kind: ErrorKind, old: boolean, seq: number): Reply {
  switch (kind) {
    case 'invalidToken': // §8: InvalidAuthentication (new), 40014 wrapped in errcode 88 (old)
      return old ? oldGateway('40014', '不合法的access_token') : fail(400, 'InvalidAuthentication', '不合法的access_token');
    case 'qps': // §8: QpsLimitForAppkeyAndApi (new, 403), 90018 wrapped in errcode 88 (old)
      return old ? oldGateway('90018', '当前企业调用该接口的QPS已达上限')
        : fail(403, 'Forbidden.AccessDenied.QpsLimitForAppkeyAndApi', '应用调用该接口的QPS已达上限');
    case 'qpm': // §8: the per-minute limit
      return fail(403, 'Forbidden.AccessDenied.QpmLimitForAppkeyAndApi', '应用调用该接口的QPM已达上限');
    case 'sendTooFast': // §2, §3: robot-send throttling, HTTP 400
      return fail(400, 'send.too.fast', '发送太快');
    case 'byTokenTooFast': // §2, §3
      return fail(400, 'send.byToken.tooFast', '发送太快');
    case 'quota': // §8: ApiCountLimitForOrg / 90020
      return old ? oldFail(90020, '企业当月调用量已达上限')
        : fail(403, 'Forbidden.AccessDenied.ApiCountLimitForOrg', '企业当月调用量已达上限');
    case '5xx': // §8: 500 system.error / 503
      return seq % 2 ? fail(503, 'ServiceUnavailable', 'service unavailable') : fail(500, 'system.error', 'system error');
    case 'html': // §0: the IP ban page
      return { status: 403, code: 'html', html: true, body: '<!DOCTYPE html><html><head><title>403 Forbidden</title></head><body><h1>访问被拒绝</h1><p>您的IP访问过于频繁，已被临时封禁。</p></body></html>' };
  }
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
