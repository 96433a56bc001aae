import type { IncidentAction } from '../contracts/actionsMessage';
import { NOTIFY_CONTRACT_VERSION, type IncidentStatus, type IncidentUpdateRequest } from '../contracts/notifyMessage';

/** What each card action makes of the incident (docs/two-way.md, "Contract v1 additions"). */
export const STATUS_AFTER: Readonly<Record<IncidentAction['action'], IncidentStatus>> = { ack: 'acknowledged', close: 'closed', snooze: 'snoozed' };

/**
 * The `incident.update` the bridge sends itself after the Flashduty Open API applied an action
 * (docs/two-way.md, "Actions to Flashduty", `api`): every card of the incident then shows who acted.
 * Its id derives from the action's, so a repeat is the same message; its `at` is the action's (the
 * press), so it applies in order with Flashduty's own updates (docs/two-way.md, "incident.update").
 *
 * @example
 * incidentUpdateOf(action, Date.now()) // { version: 1, id: 'action-<id>', kind: 'incident.update', ... }
 */
export function incidentUpdateOf(action: IncidentAction, nowMs: number): IncidentUpdateRequest {
  const { name, memberId, dingtalkUserId } = action.by;
  return {
    version: NOTIFY_CONTRACT_VERSION,
    id: `action-${action.id}`,
    tenantId: action.tenantId,
    kind: 'incident.update',
    incident: { id: action.incidentId, status: STATUS_AFTER[action.action] },
    by: { ...(name && { name }), ...(memberId && { memberId }), dingtalkUserId },
    at: action.at,
    ...(action.action === 'snooze' && action.snoozeMinutes && { snoozedUntil: new Date(nowMs + action.snoozeMinutes * 60_000).toISOString() }),
  };
}
