import { chatUpdateTitle } from './chatUpdateTitle';
import { coolAppInstall } from './coolAppInstall';
import { coolAppUninstall } from './coolAppUninstall';
import type { EventModule } from './types';

/** The event types we act on; every other type is acknowledged and ignored. */
export const EVENT_MODULES: ReadonlyMap<string, EventModule<unknown>> = new Map(
  ([chatUpdateTitle, coolAppInstall, coolAppUninstall] as EventModule<unknown>[]).map((m) => [m.eventType, m]),
);

/**
 * The module for an event type (matched case-insensitively), or undefined for a type we ignore.
 *
 * @example
 * findEventModule('chat_update_title') // chatUpdateTitle
 */
export function findEventModule(eventType: string): EventModule<unknown> | undefined {
  return EVENT_MODULES.get(eventType) ?? EVENT_MODULES.get(eventType.toLowerCase());
}
