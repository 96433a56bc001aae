import type { KindHandlers } from '../delivery/types';
import { deliverNotify } from '../notify/deliverNotify';
import { deliverWarRoom } from '../warroom/deliverWarRoom';

/** The kinds this sender delivers: notifications, and war rooms (lib/warroom). */
export const defaultHandlers: KindHandlers = {
  notify: deliverNotify,
  'war_room.create': deliverWarRoom,
};
