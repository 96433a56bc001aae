export { createWarRoomHandler, deliverWarRoom, missingWarRoomConfig, type WarRoomOptions } from './deliverWarRoom';
export { MAX_INITIAL_MEMBERS, MAX_MEMBERS_PER_ADD, missingMembers, planMembers, type MemberPlan } from './members';
export { WarRoomSession } from './session';
export { renderWarRoomSummary } from './summary';
export { clipWarRoomTitle, MAX_WAR_ROOM_TITLE_CHARS, titleUnits } from './title';
export { uuidV5, WAR_ROOM_UUID_NAMESPACE, warRoomUuid } from './uuid';
