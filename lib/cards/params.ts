import type { CardAction, IncidentStatus, Severity } from '../contracts/notifyMessage';
import { messagesFor, type Locale } from '../i18n';
import type { IncidentState } from '../store/cards';
import { chinaMinute } from '../util/chinaTime';
import type { CardParamMap } from './api';

/**
 * The card's template variables (docs/two-way.md, "Cards"): all strings, each value at most 1 KB
 * and each key at most 100 bytes (docs/dingtalk-api.md §9.1). Longer text is clipped by bytes,
 * between characters, and ends with "…".
 */

export const MAX_VALUE_BYTES = 1024;
export const MAX_KEY_BYTES = 100;
const ELLIPSIS = '…';

/**
 * The longest prefix of `text` within `maxBytes` of UTF-8, cut between code points; a clipped text
 * ends with "…" (counted in the bytes).
 *
 * @example
 * clipBytes('告警告警', 9) // '告警…' (3 bytes a character, "…" 3 bytes)
 */
export function clipBytes(text: string, maxBytes: number = MAX_VALUE_BYTES): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  const budget = Math.max(0, maxBytes - Buffer.byteLength(ELLIPSIS, 'utf8'));
  let used = 0;
  let end = 0;
  for (const ch of text) {
    const b = Buffer.byteLength(ch, 'utf8');
    if (used + b > budget) break;
    used += b;
    end += ch.length;
  }
  return `${text.slice(0, end)}${ELLIPSIS}`;
}

/** What an incident's card shows of its state: the status, who acted, until when it is snoozed. */
export type CardStatus = Pick<IncidentState, 'status' | 'byName' | 'snoozedUntil'>;

/** The variables that follow the incident: status, its text, and which buttons show. */
export interface StatusParams extends CardParamMap {
  status: IncidentStatus;
  statusText: string;
  showAck: 'true' | 'false';
  showClose: 'true' | 'false';
  showSnooze: 'true' | 'false';
}

const flag = (b: boolean): 'true' | 'false' => (b ? 'true' : 'false');

/** The status line in the tenant's language, e.g. "Acknowledged by 张三". */
export function statusText(state: CardStatus, locale?: Locale): string {
  const t = messagesFor(locale).message.card;
  const until = state.snoozedUntil && Number.isFinite(Date.parse(state.snoozedUntil)) ? t.time(chinaMinute(Date.parse(state.snoozedUntil))) : undefined;
  switch (state.status) {
    case 'triggered':
      return t.triggered;
    case 'acknowledged':
      return t.acknowledged(state.byName);
    case 'snoozed':
      return t.snoozed(until, state.byName);
    case 'closed':
      return t.closed(state.byName);
  }
}

/**
 * The status variables of a card sent with `actions`: a button shows only when the message listed
 * it and the status leaves it useful (no Acknowledge once acknowledged or snoozed; nothing once
 * closed).
 *
 * @example
 * statusParams({ status: 'acknowledged', byName: '张三' }, ['ack', 'close'], 'en')
 * // { status: 'acknowledged', statusText: 'Acknowledged by 张三', showAck: 'false', showClose: 'true', showSnooze: 'false' }
 */
export function statusParams(state: CardStatus, actions: readonly CardAction[], locale?: Locale): StatusParams {
  const open = state.status !== 'closed';
  return {
    status: state.status,
    statusText: clipBytes(statusText(state, locale)),
    showAck: flag(actions.includes('ack') && state.status === 'triggered'),
    showClose: flag(actions.includes('close') && open),
    showSnooze: flag(actions.includes('snooze') && open),
  };
}

/** Everything a new card shows. */
export interface CardContent {
  title: string;
  markdown: string;
  severity?: Severity;
  incidentUrl?: string;
}

/**
 * The full `cardParamMap` of a new card: its content (each value clipped to 1 KB) and its status.
 *
 * @example
 * cardParams({ title: 'DB down', markdown: '## DB down' }, { status: 'triggered' }, ['ack'], 'en').showAck // 'true'
 */
export function cardParams(content: CardContent, state: CardStatus, actions: readonly CardAction[], locale?: Locale): CardParamMap {
  return {
    title: clipBytes(content.title),
    markdown: clipBytes(content.markdown),
    severity: content.severity ?? '',
    // A clipped URL would lead nowhere: one over the limit is left out.
    incidentUrl: content.incidentUrl && Buffer.byteLength(content.incidentUrl, 'utf8') <= MAX_VALUE_BYTES ? content.incidentUrl : '',
    ...statusParams(state, actions, locale),
  };
}
