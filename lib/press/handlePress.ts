import { createHash } from 'node:crypto';
import { ACTIONS_CONTRACT_VERSION, type IncidentAction } from '../contracts/actionsMessage';
import type { TenantRecord } from '../store/secrets';
import type { CardSecret } from '../store/cardSecret';
import type { CardRecord, IncidentState } from '../store/cards';
import type { Link } from '../store/links';
import { NotFoundError } from '../errors';
import { messagesFor } from '../i18n';
import { ForbiddenError, ReplayError } from './errors';
import { readPress, type Press } from './readPress';
import { PRESS_WINDOW_MS, verifyPress } from './verify';

/**
 * The card callback (docs/two-way.md, "The card callback"): a button press, checked in the page's
 * eight steps; the first failure answers (typed errors: 404, 401, 400, 403, 409) and changes nothing.
 * A press that passes them all becomes one action on the internal actions queue, and the presser
 * sees "Acknowledging…" (their private `notice`, docs/dingtalk-api.md §9.4) at once.
 */

export interface PressDeps {
  /** The tenant's record (no secret), undefined for an unknown tenant. */
  getTenant(tenantId: string): Promise<Pick<TenantRecord, 'tenantId' | 'corpId' | 'locale'> | undefined>;
  getCardSecret(tenantId: string): Promise<CardSecret | undefined>;
  getCard(tenantId: string, outTrackId: string): Promise<CardRecord | undefined>;
  /** false: the same signed timestamp was recorded before (a replay). */
  recordPress(tenantId: string, timestamp: string, what: Record<string, unknown>): Promise<boolean>;
  /** Undoes recordPress when the action could not be queued (the press changed nothing). */
  forgetPress(tenantId: string, timestamp: string): Promise<void>;
  getUserLink(tenantId: string, userId: string): Promise<Link | undefined>;
  getIncidentState(tenantId: string, incidentId: string): Promise<IncidentState | undefined>;
  enqueue(action: IncidentAction): Promise<void>;
  now(): number;
  windowMs?: number;
}

export interface PressRequest {
  tenantId: string;
  headers: Record<string, string | undefined>;
  body: string | undefined;
  isBase64Encoded?: boolean;
}

/** The callback's answer: the presser's private notice, merged into their private data by key. */
export interface PressAnswer {
  userPrivateData: { cardParamMap: { notice: string } };
  cardUpdateOptions: { updatePrivateDataByKey: true };
}

export interface PressOutcome {
  answer: PressAnswer;
  /** `queued`: one action on the actions queue; otherwise why none. */
  outcome: 'queued' | 'unlinked' | 'closed';
  incidentId: string;
  action: Press['action'];
  actionId?: string;
}

const noticeAnswer = (notice: string): PressAnswer => ({ userPrivateData: { cardParamMap: { notice } }, cardUpdateOptions: { updatePrivateDataByKey: true } });

/**
 * The action id of a press: the same signed press always gives the same id (docs/two-way.md,
 * "Actions to Flashduty").
 *
 * @example
 * actionIdOf('acme', 'c0ffee', 'u1', 'ack', '1796000000000') // 40 hex characters
 */
export const actionIdOf = (tenantId: string, outTrackId: string, userId: string, action: string, timestamp: string): string =>
  createHash('sha256').update([tenantId, outTrackId, userId, action, timestamp].join('\n')).digest('hex').slice(0, 40);

const lowerKeys = (h: Record<string, string | undefined>): Record<string, string | undefined> => Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));

/**
 * Runs the eight steps for one press.
 *
 * @example
 * const out = await handlePress(deps, { tenantId, headers: event.headers, body: event.body });
 * return json(200, out.answer);
 */
export async function handlePress(deps: PressDeps, req: PressRequest): Promise<PressOutcome> {
  // 1. The tenant and its card callback secret.
  const [tenant, secret] = await Promise.all([deps.getTenant(req.tenantId), deps.getCardSecret(req.tenantId)]);
  if (!tenant || !secret) throw new NotFoundError('unknown tenant, or no card callback registered for it');
  const now = deps.now();
  // 2. The signature of the timestamp, and the timestamp's window.
  const timestamp = verifyPress(secret.apiSecret, lowerKeys(req.headers), now, deps.windowMs ?? PRESS_WINDOW_MS);
  // 3. The body names the card, the organisation, the user and the button.
  const press = readPress(req.body, req.isBase64Encoded);
  // 4. This tenant's organisation, and a card the bridge sent for this tenant with this button.
  if (press.corpId !== tenant.corpId) throw new ForbiddenError("corpId is not the tenant's organisation");
  const card = await deps.getCard(tenant.tenantId, press.outTrackId);
  if (!card) throw new ForbiddenError('outTrackId is not a card sent for this tenant');
  if (!card.actions.includes(press.action)) throw new ForbiddenError(`the card was not sent with a ${press.action} button`);
  // A DM card is pressed by the user it was sent to, nobody else.
  if (card.space === 'user' && press.userId !== card.to) throw new ForbiddenError('this card was sent to another user');
  // 5. Not a replay: DingTalk signs the timestamp only, so it alone identifies a press.
  if (!(await deps.recordPress(tenant.tenantId, timestamp, { userId: press.userId, outTrackId: press.outTrackId, action: press.action }))) throw new ReplayError();
  try {
    return await afterRecorded(deps, tenant, card, press, timestamp, now);
  } catch (e) {
    // Nothing changed: DingTalk's retry of this press must not be refused as a replay.
    await deps.forgetPress(tenant.tenantId, timestamp).catch(() => undefined);
    throw e;
  }
}

/** Steps 6 to 8, once the press is recorded: a failure here forgets it again (see above). */
async function afterRecorded(
  deps: PressDeps,
  tenant: Pick<TenantRecord, 'tenantId' | 'locale'>,
  card: CardRecord,
  press: ReturnType<typeof readPress>,
  timestamp: string,
  now: number,
): Promise<PressOutcome> {
  const texts = messagesFor(tenant.locale).press;
  const base = { incidentId: card.incidentId, action: press.action };
  // 6. A linked user.
  // (The link and the incident's state are read together: DingTalk allows the answer 2 s.)
  const [link, state] = await Promise.all([deps.getUserLink(tenant.tenantId, press.userId), deps.getIncidentState(tenant.tenantId, card.incidentId)]);
  if (!link) return { ...base, outcome: 'unlinked', answer: noticeAnswer(texts.unlinked) };
  // 7. An incident still open.
  if (state?.status === 'closed') return { ...base, outcome: 'closed', answer: noticeAnswer(texts.closed) };
  // 8. One action on the internal queue; the cards change when Flashduty's change comes back.
  const id = actionIdOf(tenant.tenantId, press.outTrackId, press.userId, press.action, timestamp);
  const action: IncidentAction = {
    version: ACTIONS_CONTRACT_VERSION,
    id,
    tenantId: tenant.tenantId,
    at: new Date(now).toISOString(),
    incidentId: card.incidentId,
    action: press.action,
    ...(press.minutes !== undefined && { snoozeMinutes: press.minutes }),
    by: { dingtalkUserId: press.userId, memberId: link.memberId, ...(link.name && { name: link.name.slice(0, 64) }) },
  };
  await deps.enqueue(action);
  const notice = press.action === 'snooze' ? texts.acting.snooze(press.minutes!) : texts.acting[press.action];
  return { ...base, outcome: 'queued', actionId: id, answer: noticeAnswer(notice) };
}
