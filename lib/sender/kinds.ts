import type { KindHandlers } from '../delivery/types';
import { deliverNotify } from '../notify/deliverNotify';
import { deliverWarRoom } from '../warroom/deliverWarRoom';

const notYet = async () => ({ verdict: 'deadLetter' as const, reason: 'not built yet', counts: {} });

/** The kinds this sender delivers: notifications, and war rooms (lib/warroom). */
export const defaultHandlers: KindHandlers = {
  notify: deliverNotify,
  'war_room.create': deliverWarRoom,
  'incident.update': notYet,
  'war_room.update': notYet,
  'war_room.dismiss': notYet,
};
