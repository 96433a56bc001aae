/** Scene groups: create, add members, disband (docs/dingtalk-api.md §5.1, §5.2, §5.3). */
import { randomBytes } from 'node:crypto';
import { CODES, ok, reject, str, type Reply } from './replies';
import type { Corp, Ctx, SimState } from './state';

/** Initial members (user_ids, owner not included) accepted by sceneGroup/create: the project's own bound (§5.1). */
export const MAX_SCENE_GROUP_INITIAL_MEMBERS = 40;
export const MAX_SCENE_GROUP_TITLE_CHARS = 30;
/** §5.2: a group holds at most 1,000 members. */
export const MAX_SCENE_GROUP_MEMBERS = 1000;

/** §5.1, §5.2: `user_ids` is an Array of String; the comma-joined string of the retired topapi routes is refused. */
function idList(v: unknown): string[] | undefined {
  if (Array.isArray(v) && v.every((s) => typeof s === 'string' && s)) return v as string[];
  return undefined;
}

function memberIds(corp: Corp, v: unknown, max?: number): string[] {
  const ids = idList(v);
  if (!ids) throw reject(400, CODES.parameterInvalid, 'user_ids must be an array of userIds'); // §5.1, §5.2
  // The project's own bound (§5.1: DingTalk documents none per call); the group cap is 1,000 (§5.2).
  if (max !== undefined && ids.length > max) throw reject(400, CODES.parameterInvalid, `at most ${max} initial members`);
  const unknown = ids.filter((u) => !corp.users.has(u));
  if (unknown.length) throw reject(400, CODES.memberNotFound, `unknown userIds: ${unknown.join(',')}`); // §5.1
  return ids;
}

export function sceneGroupCreate(s: SimState, { at, body, corp }: Ctx): Reply {
  const title = str(body.title);
  // §5.1: "at most 30 字符", read strictly as UTF-16 code units (an emoji counts 2).
  if (!title || title.length > MAX_SCENE_GROUP_TITLE_CHARS) {
    throw reject(400, CODES.parameterInvalid, `title is required, at most ${MAX_SCENE_GROUP_TITLE_CHARS} characters`);
  }
  const templateId = str(body.template_id) ?? '';
  const tpl = corp.templates.get(templateId);
  if (!tpl) throw reject(400, CODES.templateNotFound, 'no such group template'); // §5.1
  const owner = str(body.owner_user_id) ?? '';
  if (!corp.users.has(owner)) throw reject(400, CODES.memberNotFound, 'no such owner userId'); // §5.1
  const userIds = memberIds(corp, body.user_ids ?? [], MAX_SCENE_GROUP_INITIAL_MEMBERS);
  const uuid = str(body.uuid) ?? '';
  let group = uuid ? corp.byUuid.get(uuid) : undefined;
  if (!group) {
    group = {
      openConversationId: `cid${randomBytes(16).toString('base64')}`, chatId: `chat${randomBytes(16).toString('hex')}`,
      disbanded: false, templateId: tpl.templateId, createdAt: at, members: new Set([owner, ...userIds]),
    };
    corp.groups.set(group.openConversationId, group);
    if (uuid) corp.byUuid.set(uuid, group);
    s.created.push({ openConversationId: group.openConversationId, chatId: group.chatId, title, templateId, ownerUserId: owner, userIds, uuid });
  }
  return ok({ open_conversation_id: group.openConversationId, chat_id: group.chatId });
}

export function sceneGroupMemberAdd(_s: SimState, { body, corp }: Ctx): Reply {
  const group = corp.groups.get(str(body.open_conversation_id) ?? '');
  if (!group || group.disbanded) throw reject(400, CODES.sceneGroupNotExist, 'no such scene group'); // §5.2
  const ids = memberIds(corp, body.user_ids);
  if (!ids.length) throw reject(400, CODES.parameterInvalid, 'user_ids is empty'); // §5.2
  const after = new Set([...group.members, ...ids]);
  // §5.2: the group cap is 1,000 members; no code is documented for passing it, parameter.invalid stands for it.
  if (after.size > MAX_SCENE_GROUP_MEMBERS) throw reject(400, CODES.parameterInvalid, `a group holds at most ${MAX_SCENE_GROUP_MEMBERS} members`);
  group.members = after;
  return ok({ success: true });
}

/** §5.3: camelCase `openConversationId`; an unknown, disbanded or non-scene group is paramIllegal (the safe side). */
export function sceneGroupDisband(_s: SimState, { body, corp }: Ctx): Reply {
  const id = str(body.openConversationId);
  if (!id) throw reject(400, CODES.disbandParamIllegal, 'openConversationId is required (camelCase)');
  const group = corp.groups.get(id);
  if (!group || !group.templateId) throw reject(400, CODES.disbandParamIllegal, 'no such scene group');
  if (group.disbanded) throw reject(400, CODES.disbandParamIllegal, 'the scene group is already disbanded');
  group.disbanded = true;
  return ok({ success: true });
}
