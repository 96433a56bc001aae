import type { KindHandlers } from '../delivery/types';
import { deliverNotify } from '../notify/deliverNotify';
import { deliverWarRoom } from '../warroom/deliverWarRoom';
import { deliverIncidentUpdate } from '../cards/incidentUpdate';

const notYet = async () => ({ verdict: 'deadLetter' as const, reason: 'not built yet', counts: {} });

/** The kinds this sender delivers: notifications, and war rooms (lib/warroom). */
export const defaultHandlers: KindHandlers = {
  notify: deliverNotify,
  'war_room.create': deliverWarRoom,
  'incident.update': deliverIncidentUpdate,
  'war_room.update': notYet,
  'war_room.dismiss': notYet,
};
