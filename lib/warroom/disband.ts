import type { DingTalkClient } from '../dingtalk/client';
import type { DingTalkFailure, DingTalkResult } from '../dingtalk/errors';
import { describe } from '../delivery/verdict';
import type { WarRoom } from '../store/warRooms';

/** docs/dingtalk-api.md §5.3: the disband route (internal apps only; body in camelCase). */
export const DISBAND_PATH = '/v1.0/im/chat/scenegroup/disband';
/** §5.3: bad input; also what an unknown, already disbanded or non-scene group gets (the safe side). */
export const DISBAND_PARAM_ILLEGAL = 'paramIllegal';
/** §5.3: the group's owner is outside the app's visible range (DingTalk's spelling). */
export const PERMISSION_CHECK_FAILED = 'permession.checkFailed';

/**
 * POST /v1.0/im/chat/scenegroup/disband (docs/dingtalk-api.md §5.3): disbands a scene group.
 * Classified like every call (`paramIllegal` and `permession.checkFailed` are permanent,
 * `system.error` retryable); an answer of `success: false` is a retryable `badResponse` with an
 * ambiguous cause (DingTalk documents no such answer; the group may or may not be gone).
 *
 * @example
 * const r = await disbandSceneGroup(client, token, 'cid==');
 * if (r.kind === 'ok') markDismissed();
 */
export async function disbandSceneGroup(client: DingTalkClient, token: string, openConversationId: string): Promise<DingTalkResult<{ success: true }>> {
  const r = await client.request<{ success?: unknown }>('new', 'POST', DISBAND_PATH, { openConversationId }, token);
  if (r.kind !== 'ok') return r;
  const requestId = r.requestId ? { requestId: r.requestId } : {};
  if (r.data?.success === false) return { kind: 'retryable', code: 'badResponse', message: 'scenegroup/disband answered success: false', status: r.status, cause: 'server', ...requestId };
  return { kind: 'ok', data: { success: true }, status: r.status, ...requestId };
}

/**
 * A failed disband for a reason line: DingTalk's code and message, and for the documented
 * permanent codes what they mean for the war room.
 *
 * @example
 * describeDisbandFailure({ code: 'permession.checkFailed', message: '…' })
 * // "permession.checkFailed (…): the war room's owner is outside the app's visible range, or the app lacks qyapi_chat_manage"
 */
export function describeDisbandFailure(f: Pick<DingTalkFailure, 'code' | 'message'>): string {
  if (f.code === PERMISSION_CHECK_FAILED) return `${describe(f)}: the war room's owner is outside the app's visible range, or the app lacks qyapi_chat_manage`;
  if (f.code === DISBAND_PARAM_ILLEGAL) return `${describe(f)}: DingTalk knows no live scene group by this id (disbanded in DingTalk already, or not a scene group)`;
  return describe(f);
}

/**
 * The dead-letter reason of a message that needs a live war room when it was dismissed.
 *
 * @example
 * dismissedReason(room) // 'war room dismissed: the war room of incident inc-1 (cid==) was disbanded at … by message fd-9'
 */
export function dismissedReason(room: Pick<WarRoom, 'incidentId' | 'openConversationId' | 'dismissedAt' | 'dismissedBy'>): string {
  return `war room dismissed: the war room of incident ${room.incidentId} (${room.openConversationId}) was disbanded at ${room.dismissedAt} by message ${room.dismissedBy}`;
}
