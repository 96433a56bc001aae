import type { GroupSendRequest, GroupSendResponse, SceneGroupCreateRequest, SceneGroupCreateResponse, SceneGroupMemberAddRequest } from '../dingtalk/client';
import type { DingTalkResult } from '../dingtalk/errors';
import type { AppCredentials } from '../dingtalk/accessTokens';
import { AppSession, type AppSessionDeps } from '../dingtalk/appSession';
import type { Severity } from '../contracts/notifyMessage';
import { disbandSceneGroup } from './disband';

/**
 * The war room's DingTalk calls on behalf of one app: scene group create and member add, and group
 * messages from the template's group bot (its own robotCode, not the app robot's), and disband. Like
 * {@link AppSession}: the cached token, the same {@link CallGate} around every call (so the rate
 * limiter and the monthly counter see them: `sceneGroupCreate`, `sceneGroupMemberAdd`, `groupSend`,
 * `sceneGroupDisband`, all counted), one token refresh on a refused token ({@link AppSession.call}); results classified, never thrown.
 *
 * @example
 * const s = new WarRoomSession({ client, gate, tokens }, app, 'critical');
 * const r = await s.createSceneGroup({ title, template_id, owner_user_id, user_ids, uuid });
 */
export class WarRoomSession {
  private readonly appSession: AppSession;

  constructor(
    private readonly deps: AppSessionDeps,
    readonly app: AppCredentials,
    readonly severity?: Severity,
  ) {
    this.appSession = new AppSession(deps, app, severity);
  }

  getUserIdByMobile(mobile: string): Promise<DingTalkResult<{ userId: string }>> {
    return this.appSession.getUserIdByMobile(mobile);
  }

  createSceneGroup(req: SceneGroupCreateRequest): Promise<DingTalkResult<SceneGroupCreateResponse>> {
    return this.appSession.call('sceneGroupCreate', (t) => this.deps.client.sceneGroupCreate(t, req));
  }

  addMembers(req: SceneGroupMemberAddRequest): Promise<DingTalkResult<Record<string, never>>> {
    return this.appSession.call('sceneGroupMemberAdd', (t) => this.deps.client.sceneGroupMemberAdd(t, req));
  }

  /** Disbands the scene group (docs/dingtalk-api.md §5.3). */
  disband(openConversationId: string): Promise<DingTalkResult<{ success: true }>> {
    return this.appSession.call('sceneGroupDisband', (t) => disbandSceneGroup(this.deps.client, t, openConversationId));
  }

  /** A group message from the robot `robotCode` (the war-room template's group bot). */
  botSend(robotCode: string, req: Omit<GroupSendRequest, 'robotCode'>): Promise<DingTalkResult<GroupSendResponse>> {
    return this.appSession.call('groupSend', (t) => this.deps.client.groupSend(t, { ...req, robotCode }));
  }
}
