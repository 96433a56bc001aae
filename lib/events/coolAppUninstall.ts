import { applyLink, type LinkChange } from '../store/groups';
import { parseCoolAppEvent } from './coolAppEvent';
import type { EventModule } from './types';

/**
 * `im_cool_app_uninstall`: the tenant's cool app was removed from a group. Marks the group
 * unlinked (keeping its history), unless a newer link change is stored.
 *
 * @example
 * await coolAppUninstall.apply(deps, tenantId, coolAppUninstall.parse(event, { eventId, receivedAtMs }));
 */
export const coolAppUninstall: EventModule<LinkChange> = {
  eventType: 'im_cool_app_uninstall',
  parse: (event, meta) => parseCoolAppEvent(event, 'im_cool_app_uninstall', false, meta),
  apply: (deps, tenantId, change) => applyLink(deps.table, tenantId, change, deps.now()),
};
