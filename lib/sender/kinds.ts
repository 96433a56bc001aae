import type { KindHandlers } from '../delivery/types';
import { deliverNotify } from '../notify/deliverNotify';
import { deliverWarRoom } from '../warroom/deliverWarRoom';
import { deliverWarRoomDismiss } from '../warroom/dismissWarRoom';
import { deliverWarRoomUpdate } from '../warroom/updateWarRoom';
import { deliverIncidentUpdate } from '../cards/incidentUpdate';

/** The kinds this sender delivers: notifications (cards: lib/cards), incident updates, and war rooms (lib/warroom). */
export const defaultHandlers: KindHandlers = {
  notify: deliverNotify,
  'war_room.create': deliverWarRoom,
  'incident.update': deliverIncidentUpdate,
  'war_room.update': deliverWarRoomUpdate,
  'war_room.dismiss': deliverWarRoomDismiss,
};
