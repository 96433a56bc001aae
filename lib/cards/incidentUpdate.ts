import { beginMessage } from '../delivery/begin';
import { randomUUID } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { recipientItemKey } from '../contracts/tableKeys';
import { AppSession } from '../dingtalk/appSession';
import { CLAIMABLE, CLAIM_LEASE_MS, decide, leaseLeftMs, recipientKey, type RecipientStatus } from '../delivery/rule';
import { NOT_STARTED, outOfTime, type DeliveryContext, type KindHandler } from '../delivery/types';
import { describe, failureFields, verdictOf, type OutcomeFields } from '../delivery/verdict';
import { getCard, getIncidentState, isNewer, listIncidentCards, putIncidentState, type CardRecord, type IncidentState } from '../store/cards';
import { runPool } from '../util/pool';
import { CARD_NOT_EXIST, USER_ID_NOT_EXIST } from './api';
import { statusParams } from './params';
import { CardSession } from './session';

/**
 * `incident.update` (docs/two-way.md, "incident.update"): records the incident's state
 * (`INCIDENT#…/STATE`; cards sent later start from it) unless a newer one is recorded (`at`: the
 * message's, else its arrival on the queue): an older update changes nothing and PUTs nothing. Then
 * PUTs every card already sent for the incident (DMs, groups, the war room) with the state read
 * back (the latest, whichever update wrote it), merged by key
 * (docs/dingtalk-api.md §9.2). Each card is a recipient of the message's delivery record (channel
 * `card`, to = its outTrackId), claimed before its PUT and recorded after, so a retry updates only
 * the cards not yet updated. An update is idempotent: an ambiguous answer is simply retried.
 * `param.cardNotExist` fails that card (permanent), unless the card was recorded less than a claim
 * lease ago: its create may still be under way (records are written before the create), so it is
 * retried; a card no longer recorded (its create was refused and its record deleted) is
 * `notCreated`, not a failure. An incident with no cards is fine: its state is recorded, the message done.
 */
const NOT_CREATED = 'the card was never created: nothing to update';


/**
 * Whether a card DingTalk does not know was never created: no longer recorded (its create was
 * refused and its records deleted), or its message's delivery record for it says its create did
 * not deliver, with no ambiguous answer (two strongly consistent GetItems, only on this rare path).
 */
async function neverCreated(ctx: DeliveryContext, card: CardRecord): Promise<boolean> {
  if (!(await getCard(ctx.table, card.tenantId, card.outTrackId, true))) return true;
  const [channel, to] = card.space === 'warRoom' ? ['card', card.outTrackId] : [card.space, card.to];
  const r = await ctx.table.doc.send(new GetCommand({ TableName: ctx.table.name, Key: recipientItemKey(card.tenantId, card.messageId, channel, to), ConsistentRead: true }));
  return r.Item !== undefined && (CLAIMABLE as readonly string[]).includes(String(r.Item.status)) && r.Item.possibleDuplicate !== true;
}

export const deliverIncidentUpdate: KindHandler<'incident.update'> = async (ctx, msg) => {
  const start = await beginMessage(ctx, msg);
  if ('verdict' in start) return start;
  const { tenant, outcomes, begun } = start;

  const incidentId = msg.incident.id;
  // Without `at`: when it reached the queue, or when the bridge first began this id if earlier (a
  // copy redriven from the dead-letter queue or unparked arrives again later, as new).
  const at = msg.at ? Date.parse(msg.at) : Math.min(ctx.queuedAt ?? Infinity, begun.firstSeenAt ?? Infinity, ctx.now());
  const mine: IncidentState = {
    status: msg.incident.status,
    ...(msg.by?.name ? { byName: msg.by.name } : {}),
    ...(msg.by?.memberId ? { byMemberId: msg.by.memberId } : {}),
    ...(msg.by?.dingtalkUserId ? { byUserId: msg.by.dingtalkUserId } : {}),
    ...(msg.snoozedUntil ? { snoozedUntil: msg.snoozedUntil } : {}),
    ...(msg.incident.url ? { url: msg.incident.url } : {}),
    updatedAt: new Date(ctx.now()).toISOString(),
    at,
  };
  const written = await putIncidentState(ctx.table, msg.tenantId, incidentId, mine, ctx.now());
  // Written: the state is this update's; else read the one recorded (the catch-up reads again after the PUTs).
  const state = written ? mine : (await getIncidentState(ctx.table, msg.tenantId, incidentId)) ?? mine;
  const superseded = !written && isNewer(state, mine);
  const cards = await listIncidentCards(ctx.table, msg.tenantId, incidentId);
  const snapshot = await outcomes.snapshot(begun);
  // Cards an earlier attempt of this update put (with its own state, or one since superseded).
  const putBefore = cards.filter((c) => snapshot.get(recipientKey('card', c.outTrackId))?.status === 'sent');
  if (superseded && !putBefore.length) {
    ctx.log.info('incident.update superseded: a newer state is recorded, nothing changed', { incidentId, status: mine.status, at, recordedStatus: state.status, recordedAt: state.at });
    return { verdict: 'done', reason: `superseded: the incident's recorded state (${state.status}) is newer`, counts: {} };
  }
  if (!cards.length) {
    ctx.log.info('incident state recorded: no card sent for it yet', { incidentId, status: state.status });
    return { verdict: 'done', counts: {} };
  }

  /**
   * A newer state recorded while this update PUT its cards: its own PUTs may have reached a card
   * before this one's, so the cards this attempt put are put again with it (until the state read
   * after the PUTs is the one they carry; at most three rounds).
   */
  const catchUp = async (shown: IncidentState, done: ReadonlySet<CardRecord>): Promise<void> => {
    for (let round = 0; round < 3 && done.size; round++) {
      const latest = await getIncidentState(ctx.table, msg.tenantId, incidentId);
      if (!latest || !isNewer(latest, shown)) return;
      ctx.log.info('a newer incident state was recorded meanwhile: the cards put are put again with it', { incidentId, status: latest.status, at: latest.at, cards: done.size });
      shown = latest;
      const failed: CardRecord[] = [];
      await runPool([...done].map((c) => async () => void ((await put(c, latest)).kind === 'ok' || failed.push(c))), ctx.concurrency);
      if (failed.length) {
        // Back later: the retry finds this update superseded and puts its cards again with the latest state.
        ctx.log.warn('cards not put again with the newer state: the update comes back for them', { incidentId, outTrackIds: failed.map((c) => c.outTrackId) });
        for (const c of failed) note(c, 'retry', 'not yet put again with the newer state');
        return;
      }
    }
  };

  const session = new CardSession(ctx.client, new AppSession({ client: ctx.client, gate: ctx.gate, tokens: ctx.tokens, outOfTime: () => outOfTime(ctx) }, tenant, msg.severity));
  const attemptId = randomUUID();
  const lines = new Map<string, [string, RecipientStatus | 'inFlight', string?]>();
  let deferMs = 0;
  const note = (card: CardRecord, status: RecipientStatus | 'inFlight', detail?: string, waitMs = 0) => {
    deferMs = Math.max(deferMs, waitMs);
    lines.set(card.outTrackId, [`card ${card.space} ${card.to}`, status, detail]);
  };

  /**
   * One card PUT with `shown`. The user who acted (a press, docs/two-way.md) also has their private
   * `notice` ("Acknowledging…") cleared, now that the card says what happened; should DingTalk not
   * know that user (an id from elsewhere), the card is put without it.
   */
  let privateOk = true; // false once DingTalk did not know the user: later PUTs of this update leave it out
  const put = async (card: CardRecord, shown: IncidentState) => {
    const base = { outTrackId: card.outTrackId, cardData: { cardParamMap: statusParams(shown, card.actions, tenant.locale) } };
    if (shown.byUserId && privateOk) {
      const r = await session.update({ ...base, privateData: { [shown.byUserId]: { cardParamMap: { notice: '' } } }, cardUpdateOptions: { updateCardDataByKey: true, updatePrivateDataByKey: true } });
      if (r.kind !== 'permanent' || r.code !== USER_ID_NOT_EXIST) return r;
      privateOk = false;
    }
    return session.update({ ...base, cardUpdateOptions: { updateCardDataByKey: true } });
  };
  const putNow = new Set<CardRecord>();

  const update = async (card: CardRecord): Promise<void> => {
    const known = snapshot.get(recipientKey('card', card.outTrackId));
    const d = decide(known, ctx.now());
    if (d === 'skip') return note(card, known!.status);
    if (d === 'inFlight') return note(card, 'inFlight', 'claimed by another attempt', leaseLeftMs(known!, ctx.now()) + 1000);
    if (outOfTime(ctx)) return note(card, 'retry', NOT_STARTED);
    const claim = await outcomes.claim('card', card.outTrackId, attemptId);
    if (!claim) return note(card, 'inFlight', 'claimed by another attempt', CLAIM_LEASE_MS);
    let fields: OutcomeFields;
    try {
      const r = await put(card, state);
      if (r.kind === 'ok') putNow.add(card);
      if (r.kind === 'ok') fields = { status: 'sent', requestId: r.requestId };
      else if (r.code === CARD_NOT_EXIST && ctx.now() - Date.parse(card.createdAt) < CLAIM_LEASE_MS) {
        fields = { status: 'retry', code: r.code, message: 'the card may still be being created', requestId: r.requestId };
      } else if (r.code === CARD_NOT_EXIST && (await neverCreated(ctx, card))) {
        fields = { status: 'notCreated', code: r.code, message: NOT_CREATED, requestId: r.requestId };
      } else fields = failureFields(r);
      if (r.kind !== 'ok') ctx.log.warn('card not updated', { incidentId, outTrackId: card.outTrackId, space: card.space, kind: r.kind, code: r.code, requestId: r.requestId });
      const why = fields.status === 'notCreated' ? `: ${NOT_CREATED}` : fields.status === 'retry' && r.kind === 'permanent' ? ': the card may still be being created' : '';
      note(card, fields.status, r.kind === 'ok' ? undefined : `${describe(r)}${why}`, r.kind === 'ok' ? 0 : r.retryAfterMs);
    } catch (e) {
      await outcomes.record('card', card.outTrackId, attemptId, { status: 'retry', code: 'internal', message: (e as Error).message });
      throw e;
    }
    if (!(await outcomes.record('card', card.outTrackId, attemptId, fields))) ctx.log.error('claim lost before its outcome was written', { channel: 'card', outTrackId: card.outTrackId });
  };

  if (superseded) {
    // A retry of an update since superseded: only the cards it had put, again with the latest state.
    for (const c of putBefore) note(c, 'sent');
    await catchUp(mine, new Set(putBefore));
    const result = verdictOf(lines.values(), deferMs, 'card(s)');
    ctx.log.info('incident.update superseded: its cards put again with the newer state', { incidentId, status: state.status, cards: putBefore.length, verdict: result.verdict });
    return result;
  }
  await runPool(cards.map((c) => () => update(c)), ctx.concurrency);
  await catchUp(state, putNow);
  const result = verdictOf(lines.values(), deferMs, 'card(s)');
  const updated = [...lines.values()].filter(([, s]) => s === 'sent').length;
  ctx.log.info('incident cards updated', { incidentId, status: state.status, cards: cards.length, updated, verdict: result.verdict });
  return result;
};
