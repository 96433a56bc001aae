import type { KindHandlers } from '../delivery/types';
import { deliverNotify } from '../notify/deliverNotify';
import { deliverWarRoom } from '../warroom/deliverWarRoom';
import { deliverWarRoomDismiss } from '../warroom/dismissWarRoom';
import { deliverWarRoomUpdate } from '../warroom/updateWarRoom';

const notYet = async () => ({ verdict: 'deadLetter' as const, reason: 'not built yet', counts: {} });

/** The kinds this sender delivers: notifications, and war rooms (lib/warroom). */
export const defaultHandlers: KindHandlers = {
  notify: deliverNotify,
  'war_room.create': deliverWarRoom,
  'incident.update': notYet,
  'war_room.update': deliverWarRoomUpdate,
  'war_room.dismiss': deliverWarRoomDismiss,
};
