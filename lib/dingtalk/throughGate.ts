import { DingTalkError, type DingTalkResult } from './errors';
import { logger } from '../log';
import type { CallGate, GateCall } from './callGate';

/**
 * Makes one DingTalk call through the gate: `before` (which may wait, or refuse by throwing a
 * `DingTalkError`, turned into a failed result without calling), the call, then `after` with its
 * result. `after` is bookkeeping: its failure is logged, never turned into a failed send (the
 * message went out; reporting it as failed would send it again).
 *
 * @example
 * const r = await throughGate(gate, { api: 'batchSend', clientId, corpId, tenantId, counted: true }, () => client.batchSend(token, req));
 */
export async function throughGate<T>(gate: CallGate, call: GateCall, fn: () => Promise<DingTalkResult<T>>): Promise<DingTalkResult<T>> {
  try {
    await gate.before(call);
  } catch (e) {
    if (e instanceof DingTalkError) return e.toFailure();
    throw e;
  }
  const r = await fn();
  try {
    await gate.after(call, r);
  } catch (e) {
    logger.error('call gate "after" failed', { api: call.api, clientId: call.clientId, error: e as Error });
  }
  return r;
}
