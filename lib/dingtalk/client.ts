import { classifyNetworkError, classifyResponse, type DingTalkApi, type DingTalkResult } from './errors';

/** Default per-request timeout: well under the sender's Lambda timeout, long enough for DingTalk on a bad day. */
export const DEFAULT_TIMEOUT_MS = 8000;

/** batchSend (robot/oToMessages/batchSend) takes at most 20 userIds. */
export const BATCH_SEND_MAX_USERS = 20;

/** Whether DingTalk counts an API against the organisation's monthly quota (docs/dingtalk-api.md §8: not the token or contacts APIs). */
export const COUNTED: Record<DingTalkApi, boolean> = {
  token: false,
  getbymobile: false,
  batchSend: true,
  groupSend: true,
  sceneGroupCreate: true,
  sceneGroupMemberAdd: true,
  // §9: no card route says; the safe side counts them all. §10: getuserinfo is counted too (safe side).
  sceneGroupDisband: true,
  cardCreateAndDeliver: true,
  cardUpdate: true,
  cardCallbackRegister: true,
  getUserInfo: true,
};

export interface DingTalkClientOptions {
  /** New APIs, e.g. https://api.dingtalk.com (DINGTALK_API_URL). */
  apiUrl: string;
  /** Old APIs, e.g. https://oapi.dingtalk.com (DINGTALK_OAPI_URL). */
  oapiUrl: string;
  timeoutMs?: number;
  /** For tests; the global fetch (undici, keep-alive by default) otherwise. */
  fetch?: typeof fetch;
}

export interface AccessToken {
  accessToken: string;
  /** Lifetime in seconds (7200). */
  expireIn: number;
}

export interface BatchSendRequest {
  robotCode: string;
  userIds: string[];
  msgKey: string;
  msgParam: string;
}
export interface BatchSendResponse {
  processQueryKey?: string;
  invalidStaffIdList?: string[];
  flowControlledStaffIdList?: string[];
}

export interface GroupSendRequest {
  robotCode: string;
  openConversationId: string;
  msgKey: string;
  msgParam: string;
  coolAppCode?: string;
}
export interface GroupSendResponse {
  processQueryKey?: string;
}

/** sceneGroup/create: a group from a template (a war room); DingTalk's snake_case field names. */
export interface SceneGroupCreateRequest {
  /** At most 30 characters (see lib/warroom/title.ts). */
  title: string;
  template_id: string;
  owner_user_id: string;
  /** Initial members (the owner not included), at most 40; DingTalk documents a comma-separated string. */
  user_ids: string[];
  /** Idempotency key: the same uuid never makes a second group. */
  uuid: string;
}
/** What sceneGroup/create answers, in camelCase. */
export interface SceneGroupCreateResponse {
  openConversationId: string;
  chatId?: string;
}

export interface SceneGroupMemberAddRequest {
  open_conversation_id: string;
  user_ids: string[];
}

const trimSlash = (u: string): string => u.replace(/\/+$/, '');

/**
 * The one HTTP client for DingTalk: token, robot DM (batchSend), group message, user by mobile,
 * scene groups (war rooms).
 * Every answer comes back classified ({@link DingTalkResult}); it never throws for HTTP, network or
 * body problems. It knows nothing of tokens' lifetimes, rate limits or quotas: see lib/delivery.
 *
 * @example
 * const client = new DingTalkClient({ apiUrl: config.DINGTALK_API_URL, oapiUrl: config.DINGTALK_OAPI_URL });
 * const r = await client.batchSend(token, { robotCode, userIds, msgKey: 'sampleMarkdown', msgParam });
 * if (r.kind === 'ok') console.log(r.data.invalidStaffIdList);
 */
export class DingTalkClient {
  private readonly apiUrl: string;
  private readonly oapiUrl: string;
  private readonly timeoutMs: number;
  private readonly fetchFn: typeof fetch;

  constructor(opts: DingTalkClientOptions) {
    this.apiUrl = trimSlash(opts.apiUrl);
    this.oapiUrl = trimSlash(opts.oapiUrl);
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.fetchFn = opts.fetch ?? fetch;
  }

  /** POST /v1.0/oauth2/accessToken: an internal app's token (serves new and old APIs). */
  async getAccessToken(appKey: string, appSecret: string): Promise<DingTalkResult<AccessToken>> {
    const r = await this.post<AccessToken>('new', `${this.apiUrl}/v1.0/oauth2/accessToken`, { appKey, appSecret });
    if (r.kind === 'ok' && (typeof r.data.accessToken !== 'string' || !r.data.accessToken || typeof r.data.expireIn !== 'number')) {
      return { kind: 'retryable', code: 'badResponse', message: 'token answer without accessToken/expireIn', status: r.status, requestId: r.requestId, cause: 'server' };
    }
    return r;
  }

  /** POST /v1.0/robot/oToMessages/batchSend: the app robot's DM to up to 20 users. */
  batchSend(token: string, req: BatchSendRequest): Promise<DingTalkResult<BatchSendResponse>> {
    return this.post('new', `${this.apiUrl}/v1.0/robot/oToMessages/batchSend`, req, token);
  }

  /** POST /v1.0/robot/groupMessages/send: a robot message to a group chat. */
  groupSend(token: string, req: GroupSendRequest): Promise<DingTalkResult<GroupSendResponse>> {
    return this.post('new', `${this.apiUrl}/v1.0/robot/groupMessages/send`, req, token);
  }

  /**
   * POST /v1.0/im/sceneGroup/create: a scene group from a template, with its group bot. An answer
   * without `open_conversation_id` is a retryable `badResponse` (the uuid makes the retry safe).
   *
   * @example
   * const r = await client.sceneGroupCreate(token, { title, template_id, owner_user_id, user_ids, uuid });
   * if (r.kind === 'ok') record(r.data.openConversationId, r.data.chatId);
   */
  async sceneGroupCreate(token: string, req: SceneGroupCreateRequest): Promise<DingTalkResult<SceneGroupCreateResponse>> {
    // user_ids is an array of strings (docs/dingtalk-api.md, "Scene group"); an empty one is left out.
    const { user_ids: userIds, ...rest } = req;
    const body = userIds.length ? { ...rest, user_ids: userIds } : rest;
    const r = await this.post<Record<string, unknown>>('new', `${this.apiUrl}/v1.0/im/sceneGroup/create`, body, token);
    if (r.kind !== 'ok') return r;
    // Some DingTalk answers wrap the payload in `result`.
    const data = (typeof r.data.result === 'object' && r.data.result !== null ? r.data.result : r.data) as Record<string, unknown>;
    const openConversationId = data.open_conversation_id ?? data.openConversationId;
    const chatId = data.chat_id ?? data.chatId;
    if (typeof openConversationId !== 'string' || !openConversationId) {
      return { kind: 'retryable', code: 'badResponse', message: 'sceneGroup/create answer without open_conversation_id', status: r.status, requestId: r.requestId, cause: 'server' };
    }
    return { kind: 'ok', data: { openConversationId, ...(typeof chatId === 'string' && chatId ? { chatId } : {}) }, status: r.status, ...(r.requestId ? { requestId: r.requestId } : {}) };
  }

  /**
   * POST /v1.0/im/sceneGroup/member/add: adds members to a scene group (adding a member twice is
   * harmless).
   */
  async sceneGroupMemberAdd(token: string, req: SceneGroupMemberAddRequest): Promise<DingTalkResult<Record<string, never>>> {
    const r = await this.post<unknown>('new', `${this.apiUrl}/v1.0/im/sceneGroup/member/add`, req, token);
    return r.kind === 'ok' ? { kind: 'ok', data: {}, status: r.status, ...(r.requestId ? { requestId: r.requestId } : {}) } : r;
  }

  /**
   * POST oapi /topapi/v2/user/getbymobile. "No such user" is a `permanent` failure with code
   * {@link NO_SUCH_MOBILE} ('60121').
   */
  async getUserIdByMobile(token: string, mobile: string): Promise<DingTalkResult<{ userId: string }>> {
    const url = `${this.oapiUrl}/topapi/v2/user/getbymobile?access_token=${encodeURIComponent(token)}`;
    const r = await this.post<{ result?: { userid?: unknown } }>('old', url, { mobile });
    if (r.kind !== 'ok') return r;
    const userId = r.data.result?.userid;
    if (typeof userId !== 'string' || !userId) {
      return { kind: 'retryable', code: 'badResponse', message: 'getbymobile answer without result.userid', status: r.status, requestId: r.requestId, cause: 'server' };
    }
    return { kind: 'ok', data: { userId }, status: r.status, ...(r.requestId ? { requestId: r.requestId } : {}) };
  }

  /**
   * One call of a new (`/v1.0`, token in a header) or old (oapi, token in the query) API, classified
   * (lib/dingtalk/errors.ts). `path` is relative to DINGTALK_API_URL or DINGTALK_OAPI_URL; for an
   * old API it carries `?access_token=`. The typed wrappers of each API live beside their feature
   * (lib/cards/api.ts, lib/links/userInfo.ts, lib/warroom/disband.ts).
   */
  request<T>(style: 'new' | 'old', method: 'POST' | 'PUT', path: string, body: unknown, token?: string): Promise<DingTalkResult<T>> {
    return this.post<T>(style, `${style === 'new' ? this.apiUrl : this.oapiUrl}${path}`, body, token, method);
  }

  private async post<T>(style: 'new' | 'old', url: string, body: unknown, token?: string, method: 'POST' | 'PUT' = 'POST'): Promise<DingTalkResult<T>> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token && style === 'new') headers['x-acs-dingtalk-access-token'] = token;
    try {
      const res = await this.fetchFn(url, {
        method,
        headers,
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const text = await res.text();
      return classifyResponse<T>(style, res.status, text, res.headers.get('x-acs-request-id') ?? undefined);
    } catch (e) {
      return classifyNetworkError(e);
    }
  }
}

/** getbymobile's "no such user" errcode. */
export const NO_SUCH_MOBILE = '60121';

/** getbymobile answers meaning the mobile is nobody in the organisation (§4: 60121, and 40104 "not a valid mobile in the org"). */
export const NO_SUCH_MOBILE_CODES: ReadonlySet<string> = new Set([NO_SUCH_MOBILE, '40104']);
