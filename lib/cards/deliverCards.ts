import type { CardAction } from '../contracts/notifyMessage';
import type { Channel } from '../delivery/rule';
import { describe, failureFields, statusOfFailure } from '../delivery/verdict';
import type { DingTalkResult } from '../dingtalk/errors';
import { deleteCard, getIncidentState, recordCard, type IncidentState } from '../store/cards';
import type { NotifyAttempt, Row } from '../notify/notifyAttempt';
import { CARD_SPACE_FAILED, type CardCreateRequest, type CardParamMap } from './api';
import { cardOutTrackId } from './outTrackId';
import { cardParams } from './params';
import { ensureCallbackRoute, type CallbackRoute } from './registration';
import { CardSession } from './session';

/**
 * The card path of a `notify` (docs/two-way.md, "Cards"): a page about an incident, for a tenant
 * with a `cardTemplateId` and a known PUBLIC_URL, goes as one interactive card per user (the app
 * robot's DM) and per group, never in a shared batchSend. Each recipient follows the notify's
 * delivery rule on its usual record (`TO#user#…`, `TO#group#…`): claimed just before its call,
 * its outcome recorded after, so statuses, verdicts, retries and the dead-letter queue work as for
 * any page. The card's records (lib/store/cards.ts) are written before the create, and the
 * incident's state is read (consistently) after them, so an incident.update either finds the card
 * or wrote its state before the card read it. The outTrackId is derived (outTrackId.ts), so a create
 * retried after a lost answer finds the card (`param.cardAlreadyExist`) and no card is sent twice.
 * A create DingTalk refused (no card made, no earlier attempt that may have made it) deletes the
 * records again, so no incident.update looks for a card that does not exist.
 */

const NO_TEMPLATE = 'incident page sent as a static action card: the tenant has no cardTemplateId';
const NO_PUBLIC_URL = 'incident page sent as a static action card: PUBLIC_URL is not configured, so no card callback can be registered';

/** What the cards of one notify share: the app's card calls, the template, the initial data. */
export interface CardPlan {
  cards: CardSession;
  templateId: string;
  /** The app's Client ID: the robot code of DMs and ordinary groups (docs/dingtalk-api.md §9.1). */
  robotCode: string;
  incidentId: string;
  actions: CardAction[];
  /** A new card's data, from the incident's state recorded (read after the card's records), else the message's. */
  paramsOf(recorded: IncidentState | undefined): CardParamMap;
  /** The tenant's callback route, checked once per plan (the first card of the plan waits for it). */
  route(): Promise<DingTalkResult<CallbackRoute>>;
}

/** What deliverNotify lends the card path: its claim-call-record steps, shared with plain pages. */
export interface NotifyCalls {
  claimedCall<T>(
    channel: Channel,
    pairs: ReadonlyArray<readonly [NotifyAttempt, string]>,
    call: (claims: ReadonlyArray<readonly [NotifyAttempt, string]>) => Promise<DingTalkResult<T>>,
  ): Promise<{ claims: ReadonlyArray<readonly [NotifyAttempt, string]>; r: DingTalkResult<T> } | undefined>;
  recordAll(channel: Channel, rows: readonly Row[], detailOf?: (fields: Row[2]) => string | undefined, retryAfterMs?: number): Promise<void>;
}

/**
 * Whether a notify goes as cards: the plan, or undefined for the static action card (no
 * `incident`, no `cardTemplateId`, or no PUBLIC_URL to register the callback under: the reason is
 * logged and kept as the message state's reason) or when no recipient is left to send to. Each
 * card's initial status is the incident's state recorded when it is created, else the message's.
 */
export async function planCards(a: NotifyAttempt): Promise<CardPlan | undefined> {
  const { ctx, msg } = a;
  if (!msg.incident) return undefined;
  const tenant = await ctx.getTenant(msg.tenantId);
  if (!tenant) return undefined;
  if (!tenant.cardTemplateId) {
    a.log.info(NO_TEMPLATE, { incidentId: msg.incident.id });
    a.explain(NO_TEMPLATE);
    return undefined;
  }
  const publicUrl = ctx.publicUrl;
  if (!publicUrl) {
    a.log.warn(NO_PUBLIC_URL, { incidentId: msg.incident.id });
    a.explain(NO_PUBLIC_URL);
    return undefined;
  }
  if (!a.users.length && !a.groups.length) return undefined; // nothing left to send (a redelivery): no reads, no calls
  const { incident } = msg;
  const cards = new CardSession(ctx.client, a.session);
  let route: Promise<DingTalkResult<CallbackRoute>> | undefined;
  const actions = msg.actions ?? [];
  return {
    cards,
    templateId: tenant.cardTemplateId,
    robotCode: tenant.clientId,
    incidentId: incident.id,
    actions,
    paramsOf: (recorded) =>
      cardParams(
        { title: msg.message.title, markdown: msg.message.markdown, severity: msg.severity, incidentUrl: recorded?.url ?? incident.url ?? msg.message.url },
        recorded ?? { status: incident.status },
        actions,
        tenant.locale,
      ),
    route: () => (route ??= ensureCallbackRoute(ctx, cards, msg.tenantId, publicUrl)),
  };
}

/** The create of one card: a user's DM with the app robot, or a group (docs/dingtalk-api.md §9.1). */
export function cardCreateRequest(plan: Pick<CardPlan, 'templateId' | 'robotCode'>, params: CardParamMap, routeKey: string, outTrackId: string, channel: 'user' | 'group', to: string): CardCreateRequest {
  const base = { cardTemplateId: plan.templateId, outTrackId, cardData: { cardParamMap: params }, callbackType: 'HTTP' as const, callbackRouteKey: routeKey };
  return channel === 'user'
    ? { ...base, openSpaceId: `dtv1.card//IM_ROBOT.${to}`, imRobotOpenDeliverModel: { spaceType: 'IM_ROBOT', robotCode: plan.robotCode }, imRobotOpenSpaceModel: { supportForward: false } }
    : { ...base, openSpaceId: `dtv1.card//IM_GROUP.${to}`, imGroupOpenDeliverModel: { robotCode: plan.robotCode }, imGroupOpenSpaceModel: { supportForward: false } };
}

/**
 * One card for one recipient of attempt `a`: the tenant's route registered first (its failure is
 * the recipient's, nothing claimed), then the recipient claimed, the card recorded, the incident's
 * state read, the card created and its outcome recorded. A space DingTalk did not deliver to is a
 * permanent failure with its errorMsg (the card exists: its records stay).
 */
export async function sendCard(a: NotifyAttempt, plan: CardPlan, channel: 'user' | 'group', to: string, calls: NotifyCalls): Promise<void> {
  const { ctx, msg } = a;
  const route = await plan.route();
  if (route.kind !== 'ok') {
    a.note(channel, to, statusOfFailure(route), `card callback route: ${describe(route)}`, route.retryAfterMs);
    return;
  }
  const outTrackId = cardOutTrackId(msg.tenantId, msg.id, channel, to);
  const earlier = a.known(channel, to);
  const called = await calls.claimedCall(channel, [[a, to]], async () => {
    await recordCard(ctx.table, { tenantId: msg.tenantId, incidentId: plan.incidentId, outTrackId, space: channel, to, actions: plan.actions, messageId: msg.id, createdAt: new Date(ctx.now()).toISOString() }, ctx.now());
    const recorded = await getIncidentState(ctx.table, msg.tenantId, plan.incidentId);
    return plan.cards.create(cardCreateRequest(plan, plan.paramsOf(recorded), route.data.routeKey, outTrackId, channel, to));
  });
  if (!called) return;
  const { r } = called;
  if (r.kind !== 'ok') {
    if (neverCreated(r, earlier)) await deleteCard(ctx.table, { tenantId: msg.tenantId, incidentId: plan.incidentId, outTrackId });
    await calls.recordAll(channel, [[a, to, failureFields(r)]], () => describe(r), r.retryAfterMs);
    a.log.warn('card not delivered', { channel, to, outTrackId, kind: r.kind, code: r.code, requestId: r.requestId });
    return;
  }
  const again = r.data.alreadyExisted ? ' (created by an earlier attempt)' : '';
  await calls.recordAll(channel, [[a, to, { status: 'sent', requestId: r.requestId, message: `card ${outTrackId}${again}` }]], () => undefined);
  a.log.info(r.data.alreadyExisted ? 'card already created by an earlier attempt' : 'card delivered', { channel, to, outTrackId, requestId: r.requestId });
}

/**
 * Whether a failed create certainly made no card, and the failure is one a retry does not soon
 * repair: DingTalk refused it (permanent, but not a space it could not deliver to: that card
 * exists; or the monthly quota), and no earlier attempt may have made it (an orphaned claim, or an
 * ambiguous answer, whose card a refusal now would not show).
 */
export function neverCreated(r: { kind: string; code: string }, earlier: { status: string; possibleDuplicate?: boolean } | undefined): boolean {
  const refused = (r.kind === 'permanent' && r.code !== CARD_SPACE_FAILED) || r.kind === 'quotaExhausted';
  return refused && earlier?.status !== 'pending' && earlier?.possibleDuplicate !== true;
}
