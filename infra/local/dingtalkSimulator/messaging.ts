/** Robot DM and group sends, and the user lookup by mobile (docs/dingtalk-api.md §2, §3, §4). */
import { randomBytes } from 'node:crypto';
import { CODES, ERRCODES, invalid, isObject, ok, oldFail, oldOk, reject, str, type Body, type Reply } from './replies';
import type { Corp, Ctx, Group, SimState } from './state';
import type { SimApp } from './types';

export const MAX_BATCH_USERS = 20;
export const MAX_GROUP_MSG_PARAM_BYTES = 15_000;

/** Required msgParam keys per msgKey (all string-valued). */
const MSG_FIELDS: Record<string, string[]> = {
  sampleText: ['content'],
  sampleMarkdown: ['title', 'text'],
  sampleLink: ['text', 'title', 'picUrl', 'messageUrl'],
  sampleImageMsg: ['photoURL'],
  sampleActionCard: ['title', 'text', 'singleTitle', 'singleURL'],
  // sampleActionCard2..5: 2..5 vertical buttons; sampleActionCard6: two horizontal buttons.
  ...Object.fromEntries([2, 3, 4, 5].map((n) => [`sampleActionCard${n}`, ['title', 'text',
    ...Array.from({ length: n }, (_, i) => [`actionTitle${i + 1}`, `actionURL${i + 1}`]).flat()]])),
  sampleActionCard6: ['title', 'text', 'buttonTitle1', 'buttonUrl1', 'buttonTitle2', 'buttonUrl2'],
};

function parseMsg(msgKey: unknown, msgParam: unknown): { msgKey: string; param: Body } {
  const key = str(msgKey);
  const fields = key !== undefined && Object.prototype.hasOwnProperty.call(MSG_FIELDS, key) ? MSG_FIELDS[key] : undefined;
  if (!key || !fields) throw invalid('msgKey', `unsupported msgKey: ${String(msgKey)}`); // §2
  if (typeof msgParam !== 'string') throw invalid('msgParam', 'msgParam must be a JSON string'); // §2, §3
  let param: unknown;
  try { param = JSON.parse(msgParam); } catch { throw invalid('msgParam', 'msgParam is not valid JSON'); }
  if (!isObject(param)) throw invalid('msgParam', 'msgParam must encode a JSON object');
  const missing = fields.filter((f) => typeof param[f] !== 'string');
  if (missing.length) throw invalid('msgParam', `msgParam for ${key} lacks string field(s): ${missing.join(', ')}`);
  return { msgKey: key, param };
}

export function batchSend(s: SimState, { body, app, corp }: Ctx): Reply {
  // §2: batchSend takes the internal app robot's code (its Client ID), 1..20 userIds.
  if (body.robotCode !== app.clientId) throw invalid('robotCode.invalid', 'robotCode must be the robot code of this app');
  const ids = body.userIds;
  if (!Array.isArray(ids) || !ids.every((u) => typeof u === 'string' && u)) throw invalid('userIds', 'userIds must be an array of userIds'); // §2
  if (ids.length < 1) throw invalid('userIds.empty', 'userIds is empty'); // §2
  if (ids.length > MAX_BATCH_USERS) throw invalid('userIds.overMax', `at most ${MAX_BATCH_USERS} userIds`); // §2 (the strict reading: 20)
  const { msgKey, param } = parseMsg(body.msgKey, body.msgParam);
  const unique = [...new Set(ids as string[])];
  const unknown = unique.filter((u) => !corp.users.has(u));
  for (const to of unique.filter((u) => corp.users.has(u))) {
    s.delivered.push({ api: 'batchSend', robotCode: app.clientId, to, msgKey, msgParam: param });
  }
  return ok({ processQueryKey: randomBytes(24).toString('base64'), invalidStaffIdList: unknown, flowControlledStaffIdList: [] });
}

export function groupSend(s: SimState, { at, body, app, corp }: Ctx): Reply {
  if (typeof body.msgParam === 'string' && Buffer.byteLength(body.msgParam, 'utf8') > MAX_GROUP_MSG_PARAM_BYTES) {
    throw reject(400, CODES.tooLong, `msgParam is longer than ${MAX_GROUP_MSG_PARAM_BYTES} bytes`); // §3
  }
  const { msgKey, param } = parseMsg(body.msgKey, body.msgParam);
  const group = liveGroup(corp, body.openConversationId);
  const coolAppCode = str(body.coolAppCode) || undefined;
  if (coolAppCode !== group.coolAppCode) {
    // §3: coolAppCode missing, wrong or not used in the group
    throw invalid('robotCode.coolApp', group.coolAppCode ? 'the robot joined this group through a cool app: coolAppCode is required' : 'no such cool app in this group');
  }
  const robotCode = str(body.robotCode) ?? '';
  checkRobot(corp, app, group, robotCode, at);
  s.delivered.push({ api: 'groupSend', robotCode, to: group.openConversationId, msgKey, msgParam: param, ...(coolAppCode ? { coolAppCode } : {}) });
  return ok({ processQueryKey: randomBytes(24).toString('base64') });
}

/** The app's own robot (unless the group lists its robots) or the group template's bot once installed. */
export function checkRobot(corp: Corp, app: SimApp, group: Group, robotCode: string, at: number): void {
  const tpl = group.templateId ? corp.templates.get(group.templateId) : undefined;
  if (tpl && robotCode === tpl.botId) {
    if (at < group.createdAt + (tpl.installDelayMs ?? 0)) {
      // §3, §6: no "still installing" code is documented; the documented "robot not in group" one stands for it.
      throw reject(400, CODES.robotNotInGroup, 'the robot is not in the group yet: the group template is still installing');
    }
    return;
  }
  const templateBot = [...corp.templates.values()].some((t) => t.botId === robotCode);
  if (robotCode !== app.clientId && !templateBot) throw invalid('robotCode.auth', `robotCode is not this app's robot: ${robotCode}`); // §3
  const inGroup = group.robotCodes ? group.robotCodes.includes(robotCode) : robotCode === app.clientId;
  if (!inGroup) throw reject(400, CODES.robotNotInGroup, 'the robot is not a member of this group');
}

export function liveGroup(corp: Corp, id: unknown): Group {
  const group = corp.groups.get(str(id) ?? '');
  if (!group) throw reject(400, CODES.groupNotExist, 'no such group (openConversationId)'); // §3
  if (group.disbanded) throw reject(400, CODES.groupDisbanded, 'the group has been disbanded'); // §3
  return group;
}

export function getByMobile(_s: SimState, { body, corp }: Ctx): Reply {
  const mobile = str(body.mobile);
  if (!mobile) return oldFail(ERRCODES.badParameter, '缺少参数 mobile'); // §4
  const user = [...corp.users.values()].find((u) => u.mobile === mobile);
  return user ? oldOk({ userid: user.userId }) : oldFail(ERRCODES.userNotFound, '找不到该用户'); // §4
}
