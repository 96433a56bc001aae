import { createHash } from 'node:crypto';

/** The namespace of war-room uuids (a fixed random UUID: changing it would make new groups for old incidents). */
export const WAR_ROOM_UUID_NAMESPACE = 'a0fa98dc-6eae-4cae-831a-9eaab890b6d7';

/**
 * RFC 4122 name-based UUID, version 5 (SHA-1).
 *
 * @example
 * uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com') // '2ed6657d-e927-568b-95e1-2665a8aea6a2'
 */
export function uuidV5(namespace: string, name: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  if (ns.length !== 16) throw new RangeError(`not a UUID: ${namespace}`);
  const b = createHash('sha1').update(ns).update(name, 'utf8').digest().subarray(0, 16);
  b[6] = (b[6] & 0x0f) | 0x50;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * The sceneGroup/create idempotency key of an incident's war room: derived from the tenant and the
 * incident only, so every attempt and every message for the incident asks DingTalk for the same
 * group and a retry never makes a second one. (A tenantId cannot contain "/", so the name is unambiguous.)
 *
 * @example
 * warRoomUuid('acme', 'inc-6621') === warRoomUuid('acme', 'inc-6621') // true, and a UUID v5
 */
export const warRoomUuid = (tenantId: string, incidentId: string): string => uuidV5(WAR_ROOM_UUID_NAMESPACE, `${tenantId}/${incidentId}`);
