import { GetCommand, PutCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { CardAction, IncidentStatus } from '../contracts/notifyMessage';
import { cardKey, incidentCardKey, incidentPk, incidentStateKey, INCIDENT_CARD_SK_PREFIX } from '../contracts/tableKeys';
import { tryConditional, ttlAfter, type Table } from './table';

/**
 * Interactive cards sent for incidents (docs/two-way.md, "Cards"). For each card two items, written
 * together before DingTalk is asked to create it: `CARD#<tenantId>` / `<outTrackId>` (the card
 * callback's lookup: which incident) and `INCIDENT#<tenantId>#<incidentId>` / `CARD#<outTrackId>`
 * (incident.update's list). The incident's last known status is `INCIDENT#…` / `STATE`, written
 * only by an update newer than it (`at`, docs/two-way.md, "incident.update"). A card whose create
 * DingTalk refused is deleted again. Everything expires 90 days after it was written.
 */

export const CARD_TTL_SECONDS = 90 * 24 * 3600;

/** Where a card was delivered. */
export type CardSpace = 'user' | 'group' | 'warRoom';

export interface CardRecord {
  tenantId: string;
  incidentId: string;
  outTrackId: string;
  space: CardSpace;
  /** userId for `user`, openConversationId for `group` / `warRoom`. */
  to: string;
  /** The buttons the card was sent with. */
  actions: CardAction[];
  /** The notify (or war_room.create) message that sent it. */
  messageId: string;
  createdAt: string;
}

export interface IncidentState {
  status: IncidentStatus;
  /** Who acted, as the card shows it. */
  byName?: string;
  byMemberId?: string;
  byUserId?: string;
  snoozedUntil?: string;
  url?: string;
  updatedAt: string;
  /**
   * When the change happened (epoch ms): the update's `at`, else when it reached the notify queue.
   * Absent on states written before updates were ordered (any update replaces those).
   */
  at?: number;
}

/** Records a card (both items) before it is created: a callback for it finds its incident. Idempotent. */
export async function recordCard(table: Table, card: CardRecord, nowMs: number): Promise<void> {
  const expiresAt = ttlAfter(nowMs, CARD_TTL_SECONDS);
  await table.doc.send(
    new TransactWriteCommand({
      TransactItems: [
        { Put: { TableName: table.name, Item: { ...cardKey(card.tenantId, card.outTrackId), type: 'card', ...card, expiresAt } } },
        { Put: { TableName: table.name, Item: { ...incidentCardKey(card.tenantId, card.incidentId, card.outTrackId), type: 'incidentCard', ...card, expiresAt } } },
      ],
    }),
  );
}

const toCard = (item: Record<string, unknown>): CardRecord => ({
  tenantId: String(item.tenantId),
  incidentId: String(item.incidentId),
  outTrackId: String(item.outTrackId),
  space: item.space as CardSpace,
  to: String(item.to),
  actions: (item.actions as CardAction[] | undefined) ?? [],
  messageId: String(item.messageId),
  createdAt: String(item.createdAt),
});

/** Forgets a card DingTalk refused to create (both items): no update or callback looks for it. Idempotent. */
export async function deleteCard(table: Table, card: Pick<CardRecord, 'tenantId' | 'incidentId' | 'outTrackId'>): Promise<void> {
  await table.doc.send(
    new TransactWriteCommand({
      TransactItems: [
        { Delete: { TableName: table.name, Key: cardKey(card.tenantId, card.outTrackId) } },
        { Delete: { TableName: table.name, Key: incidentCardKey(card.tenantId, card.incidentId, card.outTrackId) } },
      ],
    }),
  );
}

/** The card with this outTrackId, if the bridge sent it for this tenant (one GetItem; `consistent`: a strongly consistent one). */
export async function getCard(table: Table, tenantId: string, outTrackId: string, consistent = false): Promise<CardRecord | undefined> {
  const r = await table.doc.send(new GetCommand({ TableName: table.name, Key: cardKey(tenantId, outTrackId), ConsistentRead: consistent }));
  return r.Item ? toCard(r.Item) : undefined;
}

/** Every card sent for an incident (strongly consistent Query, all pages: a card recorded just now is in it). */
export async function listIncidentCards(table: Table, tenantId: string, incidentId: string): Promise<CardRecord[]> {
  const out: CardRecord[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const r = await table.doc.send(
      new QueryCommand({
        TableName: table.name,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
        ExpressionAttributeValues: { ':pk': incidentPk(tenantId, incidentId), ':p': INCIDENT_CARD_SK_PREFIX },
        ExclusiveStartKey: start,
        ConsistentRead: true,
      }),
    );
    for (const item of r.Items ?? []) out.push(toCard(item));
    start = r.LastEvaluatedKey;
  } while (start);
  return out;
}

/** The incident's last known status (strongly consistent read), or undefined. */
export async function getIncidentState(table: Table, tenantId: string, incidentId: string): Promise<IncidentState | undefined> {
  const r = await table.doc.send(new GetCommand({ TableName: table.name, Key: incidentStateKey(tenantId, incidentId), ConsistentRead: true }));
  if (!r.Item) return undefined;
  const { pk: _pk, sk: _sk, type: _t, expiresAt: _e, rank: _r, ...state } = r.Item;
  return state as IncidentState;
}

/**
 * How far along an incident a status is: two updates with the same `at` are ordered by it, so the
 * later status of one moment wins whichever update runs last (acknowledged and snoozed in the same
 * second end snoozed; closed beats both).
 */
export const STATUS_RANK: Readonly<Record<IncidentStatus, number>> = { triggered: 0, acknowledged: 1, snoozed: 2, closed: 3 };

/** Whether state `a` comes after state `b` (by `at`, then by {@link STATUS_RANK}); a state without `at` comes first. */
export const isNewer = (a: Pick<IncidentState, 'at' | 'status'>, b: Pick<IncidentState, 'at' | 'status'>): boolean =>
  (a.at ?? -1) > (b.at ?? -1) || ((a.at ?? -1) === (b.at ?? -1) && STATUS_RANK[a.status] > STATUS_RANK[b.status]);

/**
 * Records the incident's status if it comes after the one recorded ({@link isNewer}; `state.at`,
 * else `nowMs`): true when written; false when the recorded state is the same or later (a retry, or
 * a late update).
 */
export async function putIncidentState(table: Table, tenantId: string, incidentId: string, state: IncidentState, nowMs: number): Promise<boolean> {
  const at = state.at ?? nowMs;
  const rank = STATUS_RANK[state.status];
  return tryConditional(
    table.doc.send(
      new PutCommand({
        TableName: table.name,
        Item: { ...incidentStateKey(tenantId, incidentId), type: 'incidentState', ...state, at, rank, expiresAt: ttlAfter(nowMs, CARD_TTL_SECONDS) },
        ConditionExpression: 'attribute_not_exists(pk) OR attribute_not_exists(#at) OR #at < :at OR (#at = :at AND (attribute_not_exists(#rank) OR #rank < :rank))',
        ExpressionAttributeNames: { '#at': 'at', '#rank': 'rank' },
        ExpressionAttributeValues: { ':at': at, ':rank': rank },
      }),
    ),
  );
}
