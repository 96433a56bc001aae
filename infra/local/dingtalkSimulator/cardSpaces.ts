/**
 * Card data and spaces for the simulator's card routes: the `cardParamMap` limits, the `openSpaceId`
 * format, the open-space and deliver models, where a card lands and who may see it
 * (docs/dingtalk-api.md §9.1, §9.5).
 */
import { randomBytes } from 'node:crypto';
import { CODES, isObject, reject, str, type Body } from './replies';
import { checkRobot } from './messaging';
import type { Corp, SimState } from './state';
import type { CardParams, SimApp, SimCard, SimCardSpace, SimUser } from './types';

export const MAX_OUT_TRACK_ID_CHARS = 64; // §9.1 (TB's limit for the same id)
export const MAX_PARAM_KEY_BYTES = 100; // §9.1
export const MAX_PARAM_VALUE_BYTES = 1024; // §9.1
export const MAX_OPEN_TOP_CARDS = 10; // §9.5
export const MAX_TOP_CARD_USERS = 100; // §9.5
const SPACE_PREFIX = 'dtv1.card//'; // §9.1
const PLATFORMS = new Set(['android', 'ios', 'win', 'mac']); // §9.1

const paramInvalid = (message: string): Error => reject(400, CODES.cardParamInvalid, message);

/** §9.1: string values only, keys ≤ 100 bytes, values ≤ 1 KB (param.invalid otherwise: the strict side). */
export function paramMap(v: unknown, what: string): CardParams {
  if (!isObject(v)) throw paramInvalid(`${what} must be an object of strings`);
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') throw paramInvalid(`${what}.${k} must be a string`);
    if (Buffer.byteLength(k) > MAX_PARAM_KEY_BYTES) throw paramInvalid(`${what} key over ${MAX_PARAM_KEY_BYTES} bytes: ${k}`);
    if (Buffer.byteLength(val) > MAX_PARAM_VALUE_BYTES) throw paramInvalid(`${what}.${k} over ${MAX_PARAM_VALUE_BYTES} bytes`);
  }
  return { ...(v as CardParams) };
}

/** §9.1: `userIdType` 1 (userId, the default) or 2 (unionId) names every user of the request. */
export function userIdTypeOf(v: unknown): 1 | 2 {
  if (v === undefined || v === 1 || v === 2) return (v ?? 1) as 1 | 2;
  throw paramInvalid('userIdType must be 1 or 2');
}

export function userOf(corp: Corp, id: string, type: 1 | 2): SimUser | undefined {
  return type === 1 ? corp.users.get(id) : [...corp.users.values()].find((u) => u.unionId === id);
}

const knownUser = (corp: Corp, id: unknown, type: 1 | 2): string => {
  const user = typeof id === 'string' ? userOf(corp, id, type) : undefined;
  if (!user) throw reject(400, CODES.userIdNotExist, `user not in the organisation: ${String(id)}`); // §9.1, §9.2
  return user.userId;
};

/** §9.1, §9.2: privateData is Map<user, {cardParamMap}>, keyed by userId (or unionId); an unknown user is param.userIdNotExist. */
export function privateMap(corp: Corp, v: unknown, type: 1 | 2): Record<string, CardParams> {
  if (!isObject(v)) throw paramInvalid('privateData must be an object keyed by user');
  const out: Record<string, CardParams> = {};
  for (const [id, entry] of Object.entries(v)) {
    const userId = knownUser(corp, id, type);
    out[userId] = paramMap(isObject(entry) ? entry.cardParamMap : undefined, `privateData.${id}.cardParamMap`);
  }
  return out;
}

type SpaceType = SimCardSpace['spaceType'];
export interface SpaceRef { spaceType: SpaceType; spaceId: string }

/** §9.1: `dtv1.card//TYPE.id;TYPE.id`; the simulator takes one id per type (the safe side) and no IM_SINGLE (not simulated). */
export function parseSpaces(openSpaceId: string): SpaceRef[] {
  const bad = (why: string): Error => reject(400, CODES.openSpaceIdInvalid, `openSpaceId ${why}`);
  if (!openSpaceId.startsWith(SPACE_PREFIX)) throw bad(`must start with ${SPACE_PREFIX}`);
  const parts = openSpaceId.slice(SPACE_PREFIX.length).split(';').filter(Boolean);
  if (!parts.length) throw bad('names no space');
  const refs = parts.map((p) => {
    const dot = p.indexOf('.');
    const spaceType = p.slice(0, Math.max(dot, 0)), spaceId = p.slice(dot + 1);
    if (dot < 1 || !spaceId) throw bad(`has a malformed space: ${p}`);
    if (spaceType !== 'IM_GROUP' && spaceType !== 'IM_ROBOT' && spaceType !== 'ONE_BOX') throw bad(`space type not simulated: ${spaceType}`);
    return { spaceType, spaceId } as SpaceRef;
  });
  if (new Set(refs.map((r) => r.spaceType)).size !== refs.length) throw bad('names one space type twice (one id per type per call)');
  return refs;
}

const spaceModelOk = (m: unknown): boolean => m === undefined || (isObject(m) && typeof m.supportForward === 'boolean');
const stringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** §9.1: checks every model the spaces need before anything is placed; returns the deliver options. */
export function checkModels(body: Body, refs: SpaceRef[], app: SimApp, corp: Corp, type: 1 | 2): Partial<SimCardSpace>[] {
  return refs.map((ref): Partial<SimCardSpace> => {
    if (ref.spaceType === 'IM_GROUP') {
      if (!spaceModelOk(body.imGroupOpenSpaceModel)) throw reject(400, CODES.openSpaceModelInvalid, 'imGroupOpenSpaceModel.supportForward is required');
      const m = body.imGroupOpenDeliverModel;
      if (!isObject(m)) throw reject(400, CODES.openDeliverModelEmpty, 'imGroupOpenDeliverModel is required for IM_GROUP');
      const robotCode = str(m.robotCode);
      if (!robotCode) throw reject(400, CODES.openDeliverModelError, 'imGroupOpenDeliverModel.robotCode is required');
      if (m.recipients !== undefined && !stringArray(m.recipients)) throw paramInvalid('recipients must be an array of users');
      const recipients = (m.recipients as string[] | undefined)?.map((u) => knownUser(corp, u, type));
      if (m.atUserIds !== undefined && !isObject(m.atUserIds)) throw paramInvalid('atUserIds must be a map of user to name');
      for (const u of Object.keys((m.atUserIds ?? {}) as Body)) if (u !== '@ALL') knownUser(corp, u, type);
      return { robotCode, ...(recipients ? { recipients } : {}) };
    }
    if (ref.spaceType === 'IM_ROBOT') {
      if (!spaceModelOk(body.imRobotOpenSpaceModel)) throw reject(400, CODES.openSpaceModelInvalid, 'imRobotOpenSpaceModel.supportForward is required');
      const m = body.imRobotOpenDeliverModel;
      if (!isObject(m)) throw reject(400, CODES.openDeliverModelEmpty, 'imRobotOpenDeliverModel is required for IM_ROBOT');
      if (m.spaceType !== 'IM_ROBOT') throw reject(400, CODES.openDeliverModelError, 'imRobotOpenDeliverModel.spaceType must be IM_ROBOT');
      if (m.robotCode !== app.clientId) throw reject(400, CODES.openDeliverModelError, "imRobotOpenDeliverModel.robotCode must be this app's robot");
      return { robotCode: app.clientId };
    }
    const space = body.topOpenSpaceModel;
    if (!isObject(space) || space.spaceType !== 'ONE_BOX') throw reject(400, CODES.openSpaceModelInvalid, 'topOpenSpaceModel.spaceType must be ONE_BOX');
    const m = body.topOpenDeliverModel;
    if (!isObject(m)) throw reject(400, CODES.openDeliverModelEmpty, 'topOpenDeliverModel is required for ONE_BOX');
    if (!Number.isInteger(m.expiredTimeMillis)) throw reject(400, CODES.openDeliverModelError, 'topOpenDeliverModel.expiredTimeMillis (Long) is required');
    if (m.userIds !== undefined && (!stringArray(m.userIds) || m.userIds.length > MAX_TOP_CARD_USERS)) throw paramInvalid(`userIds: at most ${MAX_TOP_CARD_USERS} users`);
    if (m.platforms !== undefined && !(stringArray(m.platforms) && m.platforms.every((p) => PLATFORMS.has(p)))) throw paramInvalid('platforms: android, ios, win, mac');
    const userIds = (m.userIds as string[] | undefined)?.map((u) => knownUser(corp, u, type));
    return { expiresAt: m.expiredTimeMillis as number, ...(userIds ? { userIds } : {}) };
  });
}

/** §9.1: where each space's delivery lands; a failed space fails alone (`success: false`), the call still succeeds. */
export function place(s: SimState, at: number, app: SimApp, corp: Corp, type: 1 | 2, refs: SpaceRef[], opts: Partial<SimCardSpace>[]): SimCardSpace[] {
  return refs.map((ref, i) => {
    const space: SimCardSpace = { ...ref, ...opts[i], success: true };
    const failed = (errorMsg: string): SimCardSpace => ({ ...space, success: false, errorMsg });
    if (ref.spaceType === 'IM_ROBOT') {
      const user = userOf(corp, ref.spaceId, type);
      return user ? { ...space, recipients: [user.userId] } : failed('user not in the organisation');
    }
    const group = corp.groups.get(ref.spaceId);
    if (!group || group.disbanded) return failed(group ? 'the group has been disbanded' : 'no such group');
    if (ref.spaceType === 'ONE_BOX') {
      const open = [...s.cards.values()].flatMap((c) => c.spaces).filter((x) => x.spaceType === 'ONE_BOX' && x.spaceId === ref.spaceId && x.success && !x.closed && (x.expiresAt ?? 0) > at);
      return open.length >= MAX_OPEN_TOP_CARDS ? failed(`${MAX_OPEN_TOP_CARDS} top cards are open in this conversation`) : space;
    }
    const tpl = group.templateId ? corp.templates.get(group.templateId) : undefined;
    // §9.1: in a scene group the card goes out through the group template robot's code.
    if (tpl && space.robotCode !== tpl.botId) return failed('in a scene group the robotCode is the group template robot');
    try { checkRobot(corp, app, group, space.robotCode ?? '', at); } catch (e) { return failed((e as Error).message); }
    return space;
  });
}

export const carrierId = (): string => randomBytes(12).toString('base64');

/** §9.1, §9.5: who may see the card now: the DM's user; group members (or `recipients`); a top card's `userIds` (or members) while open. */
export function canSee(s: SimState, card: SimCard, userId: string, at: number): boolean {
  const corp = s.corps.get(card.corpId);
  return !!corp && card.spaces.some((sp) => {
    if (!sp.success) return false;
    if (sp.spaceType === 'IM_ROBOT') return sp.recipients?.includes(userId) ?? false;
    const group = corp.groups.get(sp.spaceId);
    if (!group || group.disbanded || !group.members.has(userId)) return false;
    if (sp.spaceType === 'IM_GROUP') return sp.recipients ? sp.recipients.includes(userId) : true;
    return !sp.closed && (sp.expiresAt ?? 0) > at && (sp.userIds ? sp.userIds.includes(userId) : true);
  });
}
