import { randomUUID } from 'node:crypto';
import { CARD_ACTIONS, type WarRoomCreateRequest } from '../contracts/notifyMessage';
import type { Tenant } from '../contracts/tenant';
import { AppSession } from '../dingtalk/appSession';
import type { DingTalkFailure } from '../dingtalk/errors';
import type { OutcomeStore } from '../delivery/outcomes';
import { CLAIM_LEASE_MS, decide, leaseLeftMs, recipientKey, type RecipientOutcome, type RecipientStatus } from '../delivery/rule';
import { NOT_STARTED, outOfTime, type DeliveryContext } from '../delivery/types';
import { describe, failureFields, statusOfFailure, type OutcomeFields } from '../delivery/verdict';
import { deleteCard, getIncidentState, recordCard } from '../store/cards';
import { renderWarRoomSummary } from '../warroom/summary';
import type { CardCreateRequest } from './api';
import { cardOutTrackId } from './outTrackId';
import { cardParams, type CardStatus } from './params';
import { neverCreated } from './deliverCards';
import { ensureCallbackRoute } from './registration';
import { CardSession } from './session';

/** How long the war room's top card stays open (docs/dingtalk-api.md §9.5: it needs an expiry). */
export const TOP_CARD_DAYS = 7;

/**
 * The longest incident id a card can follow: incident.update and the card's actions carry at most
 * 64 characters (docs/two-way.md, "War room"), war_room.create up to 256.
 */
export const MAX_CARD_INCIDENT_ID = 64;

export interface WarRoomCardDeps {
  tenant: Pick<Tenant, 'tenantId' | 'corpId' | 'clientId' | 'cardTemplateId' | 'warRoomBotId' | 'locale'> & { clientSecret: string };
  msg: WarRoomCreateRequest;
  /** The war_room.create message's delivery records (the card is its recipient `card`/<outTrackId>). */
  outcomes: OutcomeStore;
  /** What the records showed at the start of the attempt. */
  snapshot: ReadonlyMap<string, RecipientOutcome>;
  /** The war room's group; its summary is posted (the template bot is in the group). */
  cid: string;
  /** The template bot the war room was made with. */
  botId: string;
  /** Tells the attempt's verdict what became of the card. */
  note(to: string, status: RecipientStatus | 'inFlight', detail?: string, failure?: Pick<DingTalkFailure, 'retryAfterMs'>): void;
}

/**
 * The incident's card in its war room (docs/two-way.md, "War room"): for a tenant with a
 * `cardTemplateId` and a known PUBLIC_URL, once the summary is posted (the caller calls it then: the
 * template bot is in the group), one createAndDeliver into the group and as its top card (`IM_GROUP` and `ONE_BOX` of
 * the same conversation, robot code the template bot's, top card open 7 days), recorded as the
 * incident's `warRoom` card so incident.update follows it. The outTrackId is derived from the
 * incident and the group: whatever message asks, one war-room card per war room. The card is the
 * message's recipient `card`/<outTrackId>, claimed and recorded like any other. The card is
 * recorded before the incident's state is read (consistently), so an incident.update either finds
 * it or wrote its state before; a create DingTalk refused deletes the records again. An incident id
 * over 64 characters gets no card (no update or press could name it): logged, the war room as it is.
 */
export async function sendWarRoomCard(ctx: DeliveryContext, d: WarRoomCardDeps): Promise<void> {
  const { tenant, msg } = d;
  const incidentId = msg.incident.id;
  const templateId = tenant.cardTemplateId;
  if (!templateId) return;
  if (incidentId.length > MAX_CARD_INCIDENT_ID) {
    ctx.log.warn(`no war-room card: the incident id is over ${MAX_CARD_INCIDENT_ID} characters, so no incident.update or press could name it`, { incidentId: incidentId.slice(0, MAX_CARD_INCIDENT_ID), length: incidentId.length });
    return;
  }
  if (!ctx.publicUrl) {
    ctx.log.warn('no war-room card: PUBLIC_URL is not configured, so no card callback can be registered', { incidentId });
    return;
  }
  const cid = d.cid;
  const outTrackId = cardOutTrackId(msg.tenantId, `warRoom#${incidentId}`, 'warRoom', cid);
  const known = d.snapshot.get(recipientKey('card', outTrackId));
  const decision = decide(known, ctx.now());
  if (decision === 'skip') return d.note(outTrackId, known!.status);
  if (decision === 'inFlight') return d.note(outTrackId, 'inFlight', 'war-room card claimed by another attempt', { retryAfterMs: leaseLeftMs(known!, ctx.now()) + 1000 });
  if (outOfTime(ctx)) return d.note(outTrackId, 'retry', NOT_STARTED);

  const cards = new CardSession(ctx.client, new AppSession({ client: ctx.client, gate: ctx.gate, tokens: ctx.tokens, outOfTime: () => outOfTime(ctx) }, tenant, msg.severity));
  const route = await ensureCallbackRoute(ctx, cards, msg.tenantId, ctx.publicUrl);
  if (route.kind !== 'ok') return d.note(outTrackId, statusOfFailure(route), `card callback route: ${describe(route)}`, route);

  const attemptId = randomUUID();
  const claim = await d.outcomes.claim('card', outTrackId, attemptId);
  if (!claim) return d.note(outTrackId, 'inFlight', 'war-room card claimed by another attempt', { retryAfterMs: CLAIM_LEASE_MS });
  const actions = [...CARD_ACTIONS];
  const markdown = (JSON.parse(renderWarRoomSummary(msg, tenant.locale).msgParam) as { text: string }).text;
  const now = ctx.now();
  const req = (state: CardStatus): CardCreateRequest => ({
    cardTemplateId: templateId,
    outTrackId,
    cardData: { cardParamMap: cardParams({ title: msg.incident.title, markdown, severity: msg.severity, incidentUrl: msg.incident.url }, state, actions, tenant.locale) },
    callbackType: 'HTTP',
    callbackRouteKey: route.data.routeKey,
    openSpaceId: `dtv1.card//IM_GROUP.${cid};ONE_BOX.${cid}`,
    imGroupOpenDeliverModel: { robotCode: d.botId },
    imGroupOpenSpaceModel: { supportForward: false },
    topOpenSpaceModel: { spaceType: 'ONE_BOX' },
    topOpenDeliverModel: { expiredTimeMillis: now + TOP_CARD_DAYS * 24 * 3600 * 1000 },
  });
  let fields: OutcomeFields;
  try {
    await recordCard(ctx.table, { tenantId: msg.tenantId, incidentId, outTrackId, space: 'warRoom', to: cid, actions, messageId: msg.id, createdAt: new Date(now).toISOString() }, now);
    const state = (await getIncidentState(ctx.table, msg.tenantId, incidentId)) ?? { status: 'triggered' as const };
    const r = await cards.create(req(state));
    if (r.kind !== 'ok' && neverCreated(r, known)) await deleteCard(ctx.table, { tenantId: msg.tenantId, incidentId, outTrackId });
    fields = r.kind === 'ok' ? { status: 'sent', requestId: r.requestId, message: `war-room card ${outTrackId} in ${cid}` } : failureFields(r);
    d.note(outTrackId, fields.status, r.kind === 'ok' ? undefined : `war-room card: ${describe(r)}`, r.kind === 'ok' ? undefined : r);
    if (r.kind === 'ok') ctx.log.info('war-room card delivered (group and top card)', { incidentId, openConversationId: cid, outTrackId, alreadyExisted: r.data.alreadyExisted, requestId: r.requestId });
    else ctx.log.warn('war-room card not delivered', { incidentId, openConversationId: cid, outTrackId, kind: r.kind, code: r.code, requestId: r.requestId });
  } catch (e) {
    await d.outcomes.record('card', outTrackId, attemptId, { status: 'retry', code: 'internal', message: (e as Error).message });
    throw e;
  }
  if (!(await d.outcomes.record('card', outTrackId, attemptId, fields))) ctx.log.error('claim lost before its outcome was written', { channel: 'card', outTrackId });
}
