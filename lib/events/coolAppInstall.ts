import { applyLink, type LinkChange } from '../store/groups';
import { parseCoolAppEvent } from './coolAppEvent';
import type { EventModule } from './types';

/**
 * `im_cool_app_install`: the tenant's cool app was added to a group. Records the group as linked
 * with its coolAppCode, robotCode, operator and time, unless a newer link change is stored.
 *
 * @example
 * await coolAppInstall.apply(deps, tenantId, coolAppInstall.parse(event, { eventId, receivedAtMs }));
 */
export const coolAppInstall: EventModule<LinkChange> = {
  eventType: 'im_cool_app_install',
  parse: (event, meta) => parseCoolAppEvent(event, 'im_cool_app_install', true, meta),
  apply: (deps, tenantId, change) => applyLink(deps.table, tenantId, change, deps.now()),
};
