import { GetCommand, PutCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { CardAction, IncidentStatus } from '../contracts/notifyMessage';
import { cardKey, incidentCardKey, incidentPk, incidentStateKey, INCIDENT_CARD_SK_PREFIX } from '../contracts/tableKeys';
import { ttlAfter, type Table } from './table';

/**
 * Interactive cards sent for incidents (docs/two-way.md, "Cards"). For each card two items, written
 * together before DingTalk is asked to create it: `CARD#<tenantId>` / `<outTrackId>` (the card
 * callback's lookup: which incident) and `INCIDENT#<tenantId>#<incidentId>` / `CARD#<outTrackId>`
 * (incident.update's list). The incident's last known status is `INCIDENT#…` / `STATE`.
 * Everything expires 90 days after it was written.
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

/** The card with this outTrackId, if the bridge sent it for this tenant (one GetItem). */
export async function getCard(table: Table, tenantId: string, outTrackId: string): Promise<CardRecord | undefined> {
  const r = await table.doc.send(new GetCommand({ TableName: table.name, Key: cardKey(tenantId, outTrackId) }));
  return r.Item ? toCard(r.Item) : undefined;
}

/** Every card sent for an incident (Query, all pages). */
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
      }),
    );
    for (const item of r.Items ?? []) out.push(toCard(item));
    start = r.LastEvaluatedKey;
  } while (start);
  return out;
}

/** The incident's last known status, or undefined. */
export async function getIncidentState(table: Table, tenantId: string, incidentId: string): Promise<IncidentState | undefined> {
  const r = await table.doc.send(new GetCommand({ TableName: table.name, Key: incidentStateKey(tenantId, incidentId) }));
  if (!r.Item) return undefined;
  const { pk: _pk, sk: _sk, type: _t, expiresAt: _e, ...state } = r.Item;
  return state as IncidentState;
}

/** Records the incident's status (the last update written wins). */
export async function putIncidentState(table: Table, tenantId: string, incidentId: string, state: IncidentState, nowMs: number): Promise<void> {
  await table.doc.send(new PutCommand({ TableName: table.name, Item: { ...incidentStateKey(tenantId, incidentId), type: 'incidentState', ...state, expiresAt: ttlAfter(nowMs, CARD_TTL_SECONDS) } }));
}
