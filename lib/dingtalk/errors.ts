import { BridgeError } from '../errors';

/** The DingTalk APIs the bridge calls (names as in the simulator's call log and the rate limiter keys). */
export type DingTalkApi =
  | 'token'
  | 'batchSend'
  | 'groupSend'
  | 'getbymobile'
  | 'sceneGroupCreate'
  | 'sceneGroupMemberAdd'
  | 'sceneGroupDisband'
  | 'cardCreateAndDeliver'
  | 'cardUpdate'
  | 'cardCallbackRegister'
  | 'getUserInfo';

/**
 * What to do about a failed call:
 * - `retryable`: 5xx, timeout, network error, QPS rejection, non-JSON body (IP ban page): back off, try again;
 * - `refreshToken`: the access token was refused: refresh it and retry once;
 * - `quotaExhausted`: the organisation's monthly quota is used up: stop until the month turns;
 * - `permanent`: the request can never succeed as it is (bad recipient, too long, group gone...).
 */
export type FailureKind = 'retryable' | 'refreshToken' | 'quotaExhausted' | 'permanent';

/** Why a retryable call failed (for logs and metrics: `qps` is throttling). */
export type RetryCause = 'qps' | 'server' | 'timeout' | 'network' | 'nonJson' | 'deferred' | 'notStarted';

/** Our own code for a call not made because its app's rate limit has no slot soon (see ShapingGate). */
export const DEFERRED_CODE = 'local.deferred';

export interface DingTalkOk<T> {
  kind: 'ok';
  data: T;
  status: number;
  requestId?: string;
}

export interface DingTalkFailure {
  kind: FailureKind;
  /** DingTalk's `code` (new API) or `errcode` (old API, as a string); ours: `timeout`, `network`, `nonJson`, `http<status>`. */
  code: string;
  message: string;
  /** HTTP status; 0 when no answer arrived. */
  status: number;
  requestId?: string;
  cause?: RetryCause;
  /** For a `deferred` call: how long until the rate limiter can give it a slot. */
  retryAfterMs?: number;
}

/** Every response, classified. Never thrown: callers switch on `kind`. */
export type DingTalkResult<T> = DingTalkOk<T> | DingTalkFailure;

/** Codes for a refused access token. */
export const REFRESH_CODES: ReadonlySet<string> = new Set(['InvalidAuthentication', '40014', '42001']);
/**
 * Throttling (docs/dingtalk-api.md, "Errors"): per-app (90018) and global (90002) QPS limits, and the
 * robot-send throttles (`send.too.fast`, `send.byToken.tooFast`). New-API codes
 * `Forbidden.AccessDenied.QpsLimitFor…` and `…QpmLimitFor…` are matched by prefix.
 */
export const QPS_CODES: ReadonlySet<string> = new Set([
  // §8: QPS, and the old API's "temporarily disabled" throttles
  '90018', '90002', '90001', '90003', '90004', '90005', '90006',
  // §2, §3, §8: robot-send and system throttling (HTTP 400 or 500)
  'send.too.fast', 'send.byToken.tooFast', 'too.many.group', 'too.many.people', 'toomuch.msg', 'system.busy', 'systemError.busy', 'invokeFrequency',
]);
const QPS_PREFIXES = ['Forbidden.AccessDenied.QpsLimit', 'Forbidden.AccessDenied.QpmLimit'];
/** The old API's gateway code that wraps the real one in `sub_code`. */
export const GATEWAY_ERRCODE = '88';
/** The organisation's monthly call quota. */
export const QUOTA_CODES: ReadonlySet<string> = new Set(['Forbidden.AccessDenied.ApiCountLimitForOrg', '90020']);
/** Old-API "system busy" (§4, §8), and §3's "send outcome unknown": retried as ambiguous (DingTalk may have sent). */
const BUSY_CODES: ReadonlySet<string> = new Set(['-1', 'unknown.send.result']);
/** §0: the IP ban, whatever the HTTP status, may come as JSON `{"status":1111,"punish":"deny","wait":5}`. */
const isIpBan = (b: Record<string, unknown>): boolean => b.punish !== undefined || b.status === 1111 || b.status === '1111';
/** §8: a per-minute limit (`…QpmLimit…`) waits at least this long. */
export const QPM_WAIT_MS = 60_000;
/** §0: a banned IP waits at least this long. */
export const IP_BAN_WAIT_MS = 5 * 60_000;

const failure = (kind: FailureKind, code: string, message: string, status: number, requestId?: string, cause?: RetryCause): DingTalkFailure => ({
  kind,
  code,
  message: message.length > 300 ? `${message.slice(0, 300)}…` : message,
  status,
  ...(requestId ? { requestId } : {}),
  ...(cause ? { cause } : {}),
});

/** Classifies a DingTalk error code (either API style) that came with a non-success answer. */
export function classifyCode(code: string, status: number): { kind: FailureKind; cause?: RetryCause } {
  if (REFRESH_CODES.has(code)) return { kind: 'refreshToken' };
  if (QUOTA_CODES.has(code)) return { kind: 'quotaExhausted' };
  if (QPS_CODES.has(code) || QPS_PREFIXES.some((p) => code.startsWith(p)) || status === 429) return { kind: 'retryable', cause: 'qps' };
  if (status >= 500 || BUSY_CODES.has(code)) return { kind: 'retryable', cause: 'server' };
  return { kind: 'permanent' };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);

/**
 * Turns one HTTP answer into a typed result. `style` is `new` (api.dingtalk.com: HTTP status +
 * `{code, message, requestid}`) or `old` (oapi.dingtalk.com: HTTP 200 + `errcode`). Never assumes
 * the body is JSON: DingTalk's IP ban answers an HTML page.
 *
 * @example
 * classifyResponse('old', 200, '{"errcode":90018,"errmsg":"qps"}') // { kind: 'retryable', code: '90018', cause: 'qps', ... }
 */
export function classifyResponse<T = unknown>(style: 'new' | 'old', status: number, bodyText: string, headerRequestId?: string): DingTalkResult<T> {
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    body = undefined;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    const kind = bodyText.trimStart().startsWith('<') ? 'an HTML page' : 'a non-JSON body';
    return failure('retryable', 'nonJson', `HTTP ${status} with ${kind}`, status, headerRequestId, 'nonJson');
  }
  const b = body as Record<string, unknown>;
  const requestId = str(b.requestid) ?? str(b.request_id) ?? str(b.requestId) ?? headerRequestId;
  if (isIpBan(b)) {
    const waitMs = Math.max(IP_BAN_WAIT_MS, Number(b.wait) * 60_000 || 0);
    return { ...failure('retryable', 'ipBan', `HTTP ${status}: DingTalk banned this IP for ${waitMs / 60_000} min`, status, headerRequestId, 'nonJson'), retryAfterMs: waitMs };
  }
  if (style === 'new') {
    if (status >= 200 && status < 300) return { kind: 'ok', data: body as T, status, ...(requestId ? { requestId } : {}) };
    const code = str(b.code) ?? `http${status}`;
    const c = classifyCode(code, status);
    const f = failure(c.kind, code, str(b.message) ?? `HTTP ${status}`, status, requestId, c.cause);
    // §8: a per-minute limit: back off at least a minute.
    return code.startsWith('Forbidden.AccessDenied.QpmLimit') ? { ...f, retryAfterMs: QPM_WAIT_MS } : f;
  }
  if (status < 200 || status >= 300) {
    const code = b.errcode !== undefined ? String(b.errcode) : `http${status}`;
    const c = classifyCode(code, status);
    return failure(c.kind, code, str(b.errmsg) ?? `HTTP ${status}`, status, requestId, c.cause);
  }
  const errcode = b.errcode;
  if (errcode === 0 || errcode === '0') return { kind: 'ok', data: body as T, status, ...(requestId ? { requestId } : {}) };
  // The gateway's errcode 88 carries the real code in sub_code (a refused token: 40014, a rate limit: 90018).
  const sub = String(errcode) === GATEWAY_ERRCODE && b.sub_code !== undefined && b.sub_code !== null && b.sub_code !== '' ? String(b.sub_code) : undefined;
  const code = sub ?? (errcode === undefined ? 'noErrcode' : String(errcode));
  const c = classifyCode(code, status);
  return failure(c.kind, code, (sub ? str(b.sub_msg) : undefined) ?? str(b.errmsg) ?? 'old API answer without errcode', status, requestId, c.cause);
}

/** Network errors raised before the request left this machine: DingTalk cannot have seen it. */
const NOT_SENT_NETWORK_CODES = /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ENETUNREACH|EHOSTUNREACH)\b/;

/**
 * Whether DingTalk may have acted on a call that failed: a timeout, a 5xx, a connection reset or a
 * non-JSON answer can come after the request was processed. Such a recipient is sent again and
 * marked as a possible duplicate (docs/DESIGN.md, "The delivery rule"); a clear refusal is not ambiguous.
 *
 * @example
 * isAmbiguous(classifyNetworkError(Object.assign(new Error('x'), { name: 'TimeoutError' }))) // true
 */
export function isAmbiguous(f: Pick<DingTalkFailure, 'kind' | 'cause' | 'message'>): boolean {
  if (f.kind !== 'retryable') return false;
  if (f.cause === 'server' || f.cause === 'timeout' || f.cause === 'nonJson') return true;
  return f.cause === 'network' && !NOT_SENT_NETWORK_CODES.test(f.message);
}

/** A call that got no answer: our timeout (AbortSignal.timeout) or a network error. Both retryable. */
export function classifyNetworkError(err: unknown): DingTalkFailure {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return failure('retryable', 'timeout', 'no answer before the timeout', 0, undefined, 'timeout');
  const detail = e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
  return failure('retryable', 'network', `network error: ${detail}`, 0, undefined, 'network');
}

/**
 * A failed DingTalk call as an exception, for code paths that cannot go on (token refresh, a gate
 * refusing a call). Carries DingTalk's code, request id and whether a retry can help.
 */
export class DingTalkError extends BridgeError {
  readonly kind: FailureKind;
  readonly retryable: boolean;
  readonly requestId?: string;
  readonly api?: DingTalkApi;
  readonly retryCause?: RetryCause;
  /** DingTalk's own message (`message` adds the API and code). */
  readonly detail: string;
  readonly retryAfterMs?: number;

  constructor(f: Pick<DingTalkFailure, 'kind' | 'code' | 'message'> & Partial<DingTalkFailure>, api?: DingTalkApi) {
    super(`DingTalk ${api ?? 'call'} failed: ${f.code}: ${f.message}`, 502, f.code);
    this.kind = f.kind;
    this.retryable = f.kind === 'retryable' || f.kind === 'refreshToken';
    this.requestId = f.requestId;
    this.api = api;
    this.retryCause = f.cause;
    this.detail = f.message;
    this.retryAfterMs = f.retryAfterMs;
  }

  /** The failure this error stands for (to record or to hand back as a result). */
  toFailure(): DingTalkFailure {
    const f = failure(this.kind, this.code, this.api ? `${this.api}: ${this.detail}` : this.detail, 0, this.requestId, this.retryCause);
    return this.retryAfterMs === undefined ? f : { ...f, retryAfterMs: this.retryAfterMs };
  }
}

/**
 * "The robot is not (yet) in this group" (docs/dingtalk-api.md §3): right after sceneGroup/create the
 * template's group bot may not be installed yet. DingTalk documents no code for that moment, only
 * these for a robot missing from a group; the war-room summary retries on them for a bounded time.
 */
export const ROBOT_NOT_IN_GROUP_CODES: ReadonlySet<string> = new Set([
  'invalidParameter.robotCode.empty',
  'invalidParameter.robotCode.notExsit',
  'resource.not.found',
  'resource.unavailable',
]);

/**
 * Whether a failed group send means the robot is not in the group (yet), which waiting may fix.
 *
 * @example
 * if (r.kind !== 'ok' && isRobotNotInGroup(r)) await sleep(1000); // then send again
 */
export const isRobotNotInGroup = (f: Pick<DingTalkFailure, 'code'>): boolean => ROBOT_NOT_IN_GROUP_CODES.has(f.code);
