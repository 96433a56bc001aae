/**
 * The DynamoDB key layout: one table holds everything (single-table design). Keys are the strings
 * `pk` / `sk`; items that expire carry `expiresAt` (epoch seconds), the table's TTL attribute.
 * Every key of every item is built here and nowhere else (docs/DESIGN.md, "Table map").
 *
 * | item                       | pk                         | sk                       | TTL  |
 * |----------------------------|----------------------------|--------------------------|------|
 * | tenant (no secrets)        | TENANT#<tenantId>          | TENANT                   |      |
 * | callback secrets           | SECRET#CALLBACK#<tenantId> | SECRET                   |      |
 * | app secret                 | SECRET#APP#<tenantId>      | SECRET                   |      |
 * | Client ID claim            | CLIENT#<clientId>          | CLIENT                   |      |
 * | group link                 | CHATS#<tenantId>           | GROUP#<openConvId>       |      |
 * | war room                   | CHATS#<tenantId>           | WARROOM#<incidentId>     |      |
 * | access token / its lease   | APP#<clientId>             | TOKEN / TOKEN_LEASE      | yes  |
 * | event dedupe               | EVENT#<tenantId>#<eventId> | EVENT                    | 7 d  |
 * | inbound events per month   | EVENTS#<corpId>            | MONTH#<YYYY-MM>          |      |
 * | monthly call counter       | ORG#<corpId>               | QUOTA#<YYYY-MM>          | yes  |
 * | parked-message count       | ORG#<corpId>               | PARKED                   |      |
 * | rate limiter (GCRA)        | RATE#<clientId>#<api>      | RATE                     | 1 d  |
 * | app's lane lease (pacer)   | LANES                      | APP#<clientId>           |      |
 * | app's backlog (a message)  | BACKLOG#<clientId>         | <0|1>#<queuedAt>#<sqsId> |      |
 * | parked message             | PARK#<corpId>              | <0|1>#<parkedAt>#<msgId> | yes* |
 * | org with parked messages   | PARKED                     | ORG#<corpId>             |      |
 * | mobile -> userId cache     | CORP#<corpId>              | MOBILE#<mobile>          | yes  |
 * | notify delivery record     | NOTIFY#<tenantId>#<id>     | MESSAGE / TO#<ch>#<to>   | 30 d |
 * | card callback secret       | SECRET#CARD#<tenantId>     | SECRET                   |      |
 * | Flashduty app key          | SECRET#FLASHDUTY#<tenantId>| SECRET                   |      |
 * | link-URL signing key       | SECRET#LINK#<tenantId>     | SECRET                   |      |
 * | incident state / its cards | INCIDENT#<tenantId>#<incId>| STATE / CARD#<outTrackId>| 90 d |
 * | card -> incident           | CARD#<tenantId>            | <outTrackId>             | 90 d |
 * | user <-> member link       | LINK#<tenantId>            | USER#<uid> / MEMBER#<id> |      |
 * | link URL used (once only)  | LINK#<tenantId>            | USED#<signature>         | yes  |
 * | card button press (replay) | PRESS#<tenantId>           | <signed timestamp>       | 1 d  |
 * | action handed to Flashduty | ACTION#<tenantId>#<id>     | ACTION                   | 30 d |
 *
 * (*) a parked message expires 7 days after the next China-time month begins (lib/quota/parkedCount.ts).
 *
 * Partitions separate what IAM must separate: each function's grant is conditioned on
 * `dynamodb:LeadingKeys` patterns built from {@link PARTITIONS} (infra/grants.ts), so only the
 * callback may read `SECRET#CALLBACK#`, only the sending functions `SECRET#APP#` and `APP#`, and
 * the events function writes `CHATS#`, `EVENT#` and `EVENTS#` but never a tenant's record.
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

/**
 * The first characters of every partition key, by item kind: the only place they are spelled, so
 * the IAM conditions (infra/grants.ts) and the key builders below cannot drift apart. A partition
 * is `<prefix><id>`, or the prefix alone for the fixed ones (`LANES`, `PARKED`).
 */
export const PARTITIONS = {
  tenant: 'TENANT#',
  callbackSecret: 'SECRET#CALLBACK#',
  appSecret: 'SECRET#APP#',
  clientClaim: 'CLIENT#',
  chats: 'CHATS#',
  app: 'APP#',
  eventDedupe: 'EVENT#',
  eventCount: 'EVENTS#',
  org: 'ORG#',
  rate: 'RATE#',
  lanes: 'LANES',
  backlog: 'BACKLOG#',
  park: 'PARK#',
  parkedOrgs: 'PARKED',
  corp: 'CORP#',
  notify: 'NOTIFY#',
  cardSecret: 'SECRET#CARD#',
  flashdutySecret: 'SECRET#FLASHDUTY#',
  linkSecret: 'SECRET#LINK#',
  incident: 'INCIDENT#',
  card: 'CARD#',
  link: 'LINK#',
  press: 'PRESS#',
  action: 'ACTION#',
} as const;

export type PartitionKind = keyof typeof PARTITIONS;

/** Partition of a tenant's record (non-secret fields only). */
export const tenantPk = (tenantId: string): string => `${PARTITIONS.tenant}${tenantId}`;

/**
 * The secrets DingTalk's callback needs (aesKey, token), apart from the tenant record.
 *
 * @example
 * callbackSecretKey('acme') // { pk: 'SECRET#CALLBACK#acme', sk: 'SECRET' }
 */
export const callbackSecretKey = (tenantId: string): ItemKey => ({ pk: `${PARTITIONS.callbackSecret}${tenantId}`, sk: 'SECRET' });

/**
 * The app secret (clientSecret), which only the sending functions read.
 *
 * @example
 * appSecretKey('acme') // { pk: 'SECRET#APP#acme', sk: 'SECRET' }
 */
export const appSecretKey = (tenantId: string): ItemKey => ({ pk: `${PARTITIONS.appSecret}${tenantId}`, sk: 'SECRET' });

/**
 * Which tenant registered a Client ID: one tenant per DingTalk app.
 *
 * @example
 * clientClaimKey('dingabc') // { pk: 'CLIENT#dingabc', sk: 'CLIENT' }
 */
export const clientClaimKey = (clientId: string): ItemKey => ({ pk: `${PARTITIONS.clientClaim}${clientId}`, sk: 'CLIENT' });

/** Partition of a tenant's groups and war rooms (written by the events function and the sender). */
export const chatsPk = (tenantId: string): string => `${PARTITIONS.chats}${tenantId}`;

/**
 * @example
 * tenantKey('acme') // { pk: 'TENANT#acme', sk: 'TENANT' }
 */
export const tenantKey = (tenantId: string): ItemKey => ({ pk: tenantPk(tenantId), sk: TENANT_SK });

/** Sort-key prefix of a tenant's group items (a Query with begins_with lists them). */
export const GROUP_SK_PREFIX = 'GROUP#';

/**
 * @example
 * groupKey('acme', 'cid1==') // { pk: 'CHATS#acme', sk: 'GROUP#cid1==' }
 */
export const groupKey = (tenantId: string, openConversationId: string): ItemKey => ({ pk: chatsPk(tenantId), sk: `${GROUP_SK_PREFIX}${openConversationId}` });

/**
 * @example
 * warRoomKey('acme', 'inc-1') // { pk: 'CHATS#acme', sk: 'WARROOM#inc-1' }
 */
export const warRoomKey = (tenantId: string, incidentId: string): ItemKey => ({ pk: chatsPk(tenantId), sk: `WARROOM#${incidentId}` });

/** An app's cached access token. */
export const tokenKey = (clientId: string): ItemKey => ({ pk: `${PARTITIONS.app}${clientId}`, sk: 'TOKEN' });

/** The lease of the one instance refreshing an app's access token. */
export const tokenLeaseKey = (clientId: string): ItemKey => ({ pk: `${PARTITIONS.app}${clientId}`, sk: 'TOKEN_LEASE' });

/** Sort key of every event dedupe record (Powertools idempotency). */
export const EVENT_DEDUPE_SK = 'EVENT';

/**
 * @example
 * eventDedupeKey('acme', 'ev-1') // { pk: 'EVENT#acme#ev-1', sk: 'EVENT' }
 */
export const eventDedupeKey = (tenantId: string, eventId: string): ItemKey => ({ pk: `${PARTITIONS.eventDedupe}${tenantId}#${eventId}`, sk: EVENT_DEDUPE_SK });

/**
 * An organisation's inbound events in a China-time month.
 *
 * @example
 * eventCountKey('dingcorp', '2026-03') // { pk: 'EVENTS#dingcorp', sk: 'MONTH#2026-03' }
 */
export const eventCountKey = (corpId: string, month: string): ItemKey => ({ pk: `${PARTITIONS.eventCount}${corpId}`, sk: `MONTH#${month}` });

/**
 * An organisation's call counter for a China-time month.
 *
 * @example
 * quotaKey('dingcorp', '2026-03') // { pk: 'ORG#dingcorp', sk: 'QUOTA#2026-03' }
 */
export const quotaKey = (corpId: string, month: string): ItemKey => ({ pk: `${PARTITIONS.org}${corpId}`, sk: `QUOTA#${month}` });

/**
 * The shared GCRA state of one app's API.
 *
 * @example
 * rateKey('dingabc', 'robot.batchSend') // { pk: 'RATE#dingabc#robot.batchSend', sk: 'RATE' }
 */
export const rateKey = (clientId: string, api: string): ItemKey => ({ pk: `${PARTITIONS.rate}${clientId}#${api}`, sk: 'RATE' });

/**
 * Partition of an organisation's parked messages.
 *
 * @example
 * parkPk('dingcorp') // 'PARK#dingcorp'
 */
export const parkPk = (corpId: string): string => `${PARTITIONS.park}${corpId}`;

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
export const PARKED_ORGS_PK = PARTITIONS.parkedOrgs;

/**
 * An organisation's entry in the work list of the unpark sweep.
 *
 * @example
 * parkedOrgKey('dingcorp') // { pk: 'PARKED', sk: 'ORG#dingcorp' }
 */
export const parkedOrgKey = (corpId: string): ItemKey => ({ pk: PARKED_ORGS_PK, sk: `ORG#${corpId}` });

/**
 * An organisation's parked-message count (by expiry), under its own partition so the homepage reads
 * it with its `ORG#` grant and never the `PARKED` work list.
 *
 * @example
 * parkedCountKey('dingcorp') // { pk: 'ORG#dingcorp', sk: 'PARKED' }
 */
export const parkedCountKey = (corpId: string): ItemKey => ({ pk: `${PARTITIONS.org}${corpId}`, sk: 'PARKED' });

/** Partition of the lane leases, one item per app: the sweep's work list (lib/lanes/lease.ts). */
export const LANES_PK = PARTITIONS.lanes;

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
export const backlogPk = (clientId: string): string => `${PARTITIONS.backlog}${clientId}`;

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
export const mobileKey = (corpId: string, mobile: string): ItemKey => ({ pk: `${PARTITIONS.corp}${corpId}`, sk: `MOBILE#${mobile}` });

/** Partition of one notify message's delivery records (its state and one item per recipient). */
export const messagePk = (tenantId: string, id: string): string => `${PARTITIONS.notify}${tenantId}#${id}`;

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

/** The card callback's apiSecret and registration (written by the sender when it registers, read by the callback). */
export const cardSecretKey = (tenantId: string): ItemKey => ({ pk: `${PARTITIONS.cardSecret}${tenantId}`, sk: 'SECRET' });

/** The tenant's Flashduty APP Key (read only by the actions function). */
export const flashdutySecretKey = (tenantId: string): ItemKey => ({ pk: `${PARTITIONS.flashdutySecret}${tenantId}`, sk: 'SECRET' });

/** The key that signs a tenant's link URLs (lib/links). */
export const linkSecretKey = (tenantId: string): ItemKey => ({ pk: `${PARTITIONS.linkSecret}${tenantId}`, sk: 'SECRET' });

/** Partition of an incident: its state and one item per card sent for it. */
export const incidentPk = (tenantId: string, incidentId: string): string => `${PARTITIONS.incident}${tenantId}#${incidentId}`;

/** The incident's last known status (who acted, when). */
export const incidentStateKey = (tenantId: string, incidentId: string): ItemKey => ({ pk: incidentPk(tenantId, incidentId), sk: 'STATE' });

/** Sort-key prefix of an incident's card items. */
export const INCIDENT_CARD_SK_PREFIX = 'CARD#';

/**
 * A card sent for an incident (a Query with begins_with lists them for incident.update).
 *
 * @example
 * incidentCardKey('acme', 'inc-1', 'c0ffee') // { pk: 'INCIDENT#acme#inc-1', sk: 'CARD#c0ffee' }
 */
export const incidentCardKey = (tenantId: string, incidentId: string, outTrackId: string): ItemKey => ({ pk: incidentPk(tenantId, incidentId), sk: `${INCIDENT_CARD_SK_PREFIX}${outTrackId}` });

/**
 * Which incident a card belongs to: the card callback's lookup.
 *
 * @example
 * cardKey('acme', 'c0ffee') // { pk: 'CARD#acme', sk: 'c0ffee' }
 */
export const cardKey = (tenantId: string, outTrackId: string): ItemKey => ({ pk: `${PARTITIONS.card}${tenantId}`, sk: outTrackId });

/** Partition of a tenant's links between DingTalk users and Flashduty members. */
export const linkPk = (tenantId: string): string => `${PARTITIONS.link}${tenantId}`;

/** A DingTalk user's link (to a member). */
export const userLinkKey = (tenantId: string, userId: string): ItemKey => ({ pk: linkPk(tenantId), sk: `USER#${userId}` });

/** A Flashduty member's link (to a DingTalk user). */
export const memberLinkKey = (tenantId: string, memberId: string): ItemKey => ({ pk: linkPk(tenantId), sk: `MEMBER#${memberId}` });

/**
 * A link URL that was used (docs/two-way.md, "Linking"): a link URL links once. Kept until the
 * URL's own expiry; its signature names it.
 *
 * @example
 * usedLinkKey('acme', 'sig') // { pk: 'LINK#acme', sk: 'USED#sig' }
 */
export const usedLinkKey = (tenantId: string, signature: string): ItemKey => ({ pk: linkPk(tenantId), sk: `USED#${signature}` });

/**
 * One card button press as signed by DingTalk: DingTalk signs only the timestamp, so a second request
 * with the same signed timestamp is a replay, whatever its body says (docs/two-way.md, step 5).
 *
 * @example
 * pressKey('acme', '1700000000000') // { pk: 'PRESS#acme', sk: '1700000000000' }
 */
export const pressKey = (tenantId: string, timestamp: string): ItemKey => ({ pk: `${PARTITIONS.press}${tenantId}`, sk: timestamp });

/** An action handed to Flashduty (the actions function's idempotency record). */
export const actionKey = (tenantId: string, id: string): ItemKey => ({ pk: `${PARTITIONS.action}${tenantId}#${id}`, sk: 'ACTION' });
