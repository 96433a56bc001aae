import type { DingTalkApi, DingTalkResult } from './errors';
import type { Severity } from '../contracts/notifyMessage';

/** One outbound DingTalk call, as the gate sees it. */
export interface GateCall {
  api: DingTalkApi;
  /** The app (Client ID): QPS is per app per API. */
  clientId: string;
  /** The organisation: the monthly quota is per corpId, summed over its apps. */
  corpId: string;
  tenantId: string;
  /** Whether DingTalk counts the call against the monthly quota (robot and scene-group APIs). */
  counted: boolean;
  /** The message's severity, when it has one (a gate may let `critical` through first). */
  severity?: Severity;
}

/**
 * The single checkpoint every outbound DingTalk call passes (token, sends, lookups): the rate
 * limiter (per app per API, shared by every Lambda instance) and the monthly counter plug in here.
 *
 * - `before` waits until the call may go, or refuses it by throwing a `DingTalkError`
 *   (`kind: 'quotaExhausted'` to park the message, `'retryable'` to back off); a refused call is not made
 *   and `after` is not called for it.
 * - `after` sees every call that was made, with its classified result (count it when it was `ok`
 *   and `counted`; learn from a QPS rejection).
 *
 * @example
 * const gate: CallGate = {
 *   before: async (call) => limiter.acquire(`${call.clientId}|${call.api}`),
 *   after: async (call, result) => { if (call.counted && result.kind === 'ok') await usage.add(call.corpId); },
 * };
 */
export interface CallGate {
  before(call: GateCall): Promise<void>;
  after(call: GateCall, result: DingTalkResult<unknown>): Promise<void>;
}

/** Lets everything through (until the rate limiter and the quota counter arrive). */
export const noopGate: CallGate = {
  before: async () => undefined,
  after: async () => undefined,
};
