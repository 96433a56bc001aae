import { BridgeError } from '../errors';

/**
 * The Flashduty Open API calls the bridge makes for a button press (docs/flashduty-api.md §3–§5):
 * acknowledge, close (resolve) and snooze one incident, with the tenant's APP Key as `app_key`.
 * Errors are classified as §1 says: 429, 5xx, a body that is not the envelope, a timeout or a
 * network failure may be retried; 400, 401, 403, 404 (any other 4xx) may not.
 */

/** Per-request timeout, ms. */
export const FLASHDUTY_TIMEOUT_MS = 5000;

export type FlashdutyAction = 'ack' | 'close' | 'snooze';

/** §3–§5: the path of each action (close is `/incident/resolve`). */
export const ACTION_PATHS: Readonly<Record<FlashdutyAction, string>> = { ack: '/incident/ack', close: '/incident/resolve', snooze: '/incident/snooze' };

/** A refused or failed call: `retryable` per §1; never carries the APP Key. */
export class FlashdutyError extends BridgeError {
  constructor(
    message: string,
    readonly httpStatus: number,
    /** Flashduty's `error.code`, or `timeout` / `network` / `bad_response`. */
    readonly fdCode: string,
    readonly retryable: boolean,
    readonly requestId?: string,
  ) {
    super(message, retryable ? 503 : 502, 'flashduty_error');
  }
}

export interface FlashdutyClientOptions {
  baseUrl: string;
  appKey: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Calls `path` with a JSON body; resolves with the envelope's `data`, or throws {@link FlashdutyError}.
 *
 * @example
 * await flashdutyCall({ baseUrl, appKey }, '/incident/ack', { incident_ids: [id] });
 */
export async function flashdutyCall(opts: FlashdutyClientOptions, path: string, body: unknown): Promise<unknown> {
  const url = `${opts.baseUrl.replace(/\/+$/, '')}${path}?app_key=${encodeURIComponent(opts.appKey)}`;
  const timeoutMs = opts.timeoutMs ?? FLASHDUTY_TIMEOUT_MS;
  let res: Response;
  let text: string;
  try {
    res = await (opts.fetch ?? fetch)(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
    text = await res.text();
  } catch (e) {
    const timedOut = (e as Error).name === 'TimeoutError' || (e as Error).name === 'AbortError';
    throw new FlashdutyError(timedOut ? `Flashduty ${path}: no answer within ${timeoutMs} ms` : `Flashduty ${path}: network error`, 0, timedOut ? 'timeout' : 'network', true);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const requestId = (isObject(parsed) && typeof parsed.request_id === 'string' ? parsed.request_id : undefined) ?? res.headers.get('flashcat-request-id') ?? undefined;
  const error = isObject(parsed) && isObject(parsed.error) ? parsed.error : undefined;
  if (res.status === 200 && isObject(parsed) && !error && 'data' in parsed) return parsed.data;
  // §1 safe side: a body that is not the envelope ({request_id, data} or an error) counts as a 5xx; an unknown code goes by its status.
  if (!isObject(parsed) || (res.status === 200 && !error)) throw new FlashdutyError(`Flashduty ${path}: HTTP ${res.status} without the JSON envelope`, res.status, 'bad_response', true, requestId);
  const code = typeof error?.code === 'string' ? error.code : `HTTP${res.status}`;
  const message = typeof error?.message === 'string' ? error.message.slice(0, 300) : '';
  const retryable = res.status === 429 || res.status >= 500 || res.status === 200;
  throw new FlashdutyError(`Flashduty ${path}: HTTP ${res.status} ${code}${message ? `: ${message}` : ''}${requestId ? ` (request_id ${requestId})` : ''}`, res.status, code, retryable, requestId);
}

/**
 * Applies one card action to one incident (§3–§5: one incident per call, §9). A snooze is preceded
 * by an acknowledgement: snooze follows an acknowledgement (§9, the safe side), and acknowledging an
 * incident already acknowledged changes nothing, so a snooze pressed on a triggered card works too.
 *
 * @example
 * await applyIncidentAction({ baseUrl, appKey }, 'snooze', '69da451ef77b1b51f40e83ee', 120);
 */
export async function applyIncidentAction(opts: FlashdutyClientOptions, action: FlashdutyAction, incidentId: string, minutes?: number): Promise<void> {
  if (action === 'snooze') await flashdutyCall(opts, ACTION_PATHS.ack, { incident_ids: [incidentId] });
  await flashdutyCall(opts, ACTION_PATHS[action], { incident_ids: [incidentId], ...(action === 'snooze' && { minutes }) });
}
