/**
 * The DynamoDB key layout: one table holds everything (single-table design). Keys are the strings
 * `pk` / `sk`; items that expire carry `expiresAt` (epoch seconds), the table's TTL attribute.
 * Every key of every item is built here and nowhere else (docs/DESIGN.md, "Table map").
 *
 * | item                       | pk                         | sk                       | TTL  |
 * |----------------------------|----------------------------|--------------------------|------|
 * | tenant                     | TENANT#<tenantId>          | TENANT                   |      |
 * | group link                 | TENANT#<tenantId>          | GROUP#<openConvId>       |      |
 * | war room                   | TENANT#<tenantId>          | WARROOM#<incidentId>     |      |
 * | access token / its lease   | APP#<clientId>             | TOKEN / TOKEN_LEASE      | yes  |
 * | event dedupe               | EVENT#<tenantId>#<eventId> | EVENT                    | 7 d  |
 * | inbound events per month   | ORG#<corpId>               | EVENTS#<YYYY-MM>         |      |
 * | monthly call counter       | ORG#<corpId>               | QUOTA#<YYYY-MM>          | yes  |
 * | rate limiter (GCRA)        | RATE#<clientId>#<api>      | RATE                     | 1 d  |
 * | app's lane lease (pacer)   | LANES                      | APP#<clientId>           |      |
 * | app's backlog (a message)  | BACKLOG#<clientId>         | <0|1>#<queuedAt>#<sqsId> |      |
 * | parked message             | PARK#<corpId>              | <0|1>#<parkedAt>#<msgId> |      |
 * | org with parked messages   | PARKED                     | ORG#<corpId>             |      |
 * | mobile -> userId cache     | CORP#<corpId>              | MOBILE#<mobile>          | yes  |
 * | notify delivery record     | NOTIFY#<tenantId>#<id>     | MESSAGE / TO#<ch>#<to>   | 30 d |
 */

/** Attribute names of the table's keys and TTL. */
export const KEY = { pk: 'pk', sk: 'sk', ttl: 'expiresAt' } as const;

/** A full item key. */
export interface ItemKey {
  pk: string;
  sk: string;
}

/** Sort key of every tenant item (a scan for `sk = TENANT` lists the tenants). */
export const TENANT_SK = 'TENANT';

/** Partition of everything a tenant owns: its record, its groups, its war rooms. */
export const tenantPk = (tenantId: string): string => `TENANT#${tenantId}`;

/**
 * @example
 * tenantKey('acme') // { pk: 'TENANT#acme', sk: 'TENANT' }
 */
export const tenantKey = (tenantId: string): ItemKey => ({ pk: tenantPk(tenantId), sk: TENANT_SK });

/** Sort-key prefix of a tenant's group items (a Query with begins_with lists them). */
export const GROUP_SK_PREFIX = 'GROUP#';

/**
 * @example
 * groupKey('acme', 'cid1==') // { pk: 'TENANT#acme', sk: 'GROUP#cid1==' }
 */
export const groupKey = (tenantId: string, openConversationId: string): ItemKey => ({ pk: tenantPk(tenantId), sk: `${GROUP_SK_PREFIX}${openConversationId}` });

/**
 * @example
 * warRoomKey('acme', 'inc-1') // { pk: 'TENANT#acme', sk: 'WARROOM#inc-1' }
 */
export const warRoomKey = (tenantId: string, incidentId: string): ItemKey => ({ pk: tenantPk(tenantId), sk: `WARROOM#${incidentId}` });

/** An app's cached access token. */
export const tokenKey = (clientId: string): ItemKey => ({ pk: `APP#${clientId}`, sk: 'TOKEN' });

/** The lease of the one instance refreshing an app's access token. */
export const tokenLeaseKey = (clientId: string): ItemKey => ({ pk: `APP#${clientId}`, sk: 'TOKEN_LEASE' });

/** Sort key of every event dedupe record (Powertools idempotency). */
export const EVENT_DEDUPE_SK = 'EVENT';

/**
 * @example
 * eventDedupeKey('acme', 'ev-1') // { pk: 'EVENT#acme#ev-1', sk: 'EVENT' }
 */
export const eventDedupeKey = (tenantId: string, eventId: string): ItemKey => ({ pk: `EVENT#${tenantId}#${eventId}`, sk: EVENT_DEDUPE_SK });

/**
 * An organisation's inbound events in a China-time month.
 *
 * @example
 * eventCountKey('dingcorp', '2026-03') // { pk: 'ORG#dingcorp', sk: 'EVENTS#2026-03' }
 */
export const eventCountKey = (corpId: string, month: string): ItemKey => ({ pk: `ORG#${corpId}`, sk: `EVENTS#${month}` });

/**
 * An organisation's call counter for a China-time month.
 *
 * @example
 * quotaKey('dingcorp', '2026-03') // { pk: 'ORG#dingcorp', sk: 'QUOTA#2026-03' }
 */
export const quotaKey = (corpId: string, month: string): ItemKey => ({ pk: `ORG#${corpId}`, sk: `QUOTA#${month}` });

/**
 * The shared GCRA state of one app's API.
 *
 * @example
 * rateKey('dingabc', 'robot.batchSend') // { pk: 'RATE#dingabc#robot.batchSend', sk: 'RATE' }
 */
export const rateKey = (clientId: string, api: string): ItemKey => ({ pk: `RATE#${clientId}#${api}`, sk: 'RATE' });

/**
 * Partition of an organisation's parked messages.
 *
 * @example
 * parkPk('dingcorp') // 'PARK#dingcorp'
 */
export const parkPk = (corpId: string): string => `PARK#${corpId}`;

/**
 * Sort key of a parked message: critical first (`0`, else `1`), then the oldest, then its id, so a
 * sweep that reads in key order takes critical pages before others and old ones before new.
 *
 * @example
 * parkSk(true, 1900000000000, 'msg-1') // '0#001900000000000#msg-1'
 */
export const parkSk = (critical: boolean, parkedAt: number, messageId: string): string => `${critical ? 0 : 1}#${String(parkedAt).padStart(15, '0')}#${messageId}`;

/** A parked message's full key. */
export const parkKey = (corpId: string, sk: string): ItemKey => ({ pk: parkPk(corpId), sk });

/** Partition listing the organisations that have parked messages: the unpark sweep's work list. */
export const PARKED_ORGS_PK = 'PARKED';

/**
 * An organisation's entry in the work list of the unpark sweep.
 *
 * @example
 * parkedOrgKey('dingcorp') // { pk: 'PARKED', sk: 'ORG#dingcorp' }
 */
export const parkedOrgKey = (corpId: string): ItemKey => ({ pk: PARKED_ORGS_PK, sk: `ORG#${corpId}` });

/** Partition of the lane leases, one item per app: the sweep's work list (lib/lanes/lease.ts). */
export const LANES_PK = 'LANES';

/**
 * The lease of an app's lane: who paces its robot calls now, until when, and the last calls' bounds.
 *
 * @example
 * laneKey('dingabc') // { pk: 'LANES', sk: 'APP#dingabc' }
 */
export const laneKey = (clientId: string): ItemKey => ({ pk: LANES_PK, sk: `APP#${clientId}` });

/** The clientId of a lane item's sort key. */
export const clientIdOfLane = (sk: string): string => sk.replace(/^APP#/, '');

/** Partition of an app's backlog: the messages waiting for its lane's holder. */
export const backlogPk = (clientId: string): string => `BACKLOG#${clientId}`;

/**
 * Sort key of a backlogged message: critical first, then the oldest, then its SQS message id (unique).
 *
 * @example
 * backlogSk(false, 1900000000000, 'm-1') // '1#001900000000000#m-1'
 */
export const backlogSk = parkSk;

/**
 * The mobile -> userId cache of an organisation.
 *
 * @example
 * mobileKey('dingcorp', '13800000001') // { pk: 'CORP#dingcorp', sk: 'MOBILE#13800000001' }
 */
export const mobileKey = (corpId: string, mobile: string): ItemKey => ({ pk: `CORP#${corpId}`, sk: `MOBILE#${mobile}` });

/** Partition of one notify message's delivery records (its state and one item per recipient). */
export const messagePk = (tenantId: string, id: string): string => `NOTIFY#${tenantId}#${id}`;

/** The message state item of a notify message. */
export const messageKey = (tenantId: string, id: string): ItemKey => ({ pk: messagePk(tenantId, id), sk: 'MESSAGE' });

/** Sort-key prefix of a message's recipient items. */
export const RECIPIENT_SK_PREFIX = 'TO#';

/**
 * One recipient's delivery record of a notify message.
 *
 * @example
 * recipientItemKey('acme', 'n-1', 'user', 'u1') // { pk: 'NOTIFY#acme#n-1', sk: 'TO#user#u1' }
 */
export const recipientItemKey = (tenantId: string, id: string, channel: string, to: string): ItemKey => ({ pk: messagePk(tenantId, id), sk: `${RECIPIENT_SK_PREFIX}${channel}#${to}` });
