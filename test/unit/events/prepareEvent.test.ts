import type { QueuedEvent } from '../../../lib/contracts/eventsMessage';
import { InvalidEventError } from '../../../lib/events/errors';
import { prepareEvent } from '../../../lib/events/prepareEvent';
import type { LinkChange, TitleChange } from '../../../lib/store/groups';
import install from '../../fixtures/event-install.json';
import rename from '../../fixtures/event-rename.json';

const RECEIVED = '2026-05-31T16:30:00.000Z';
const FALLBACK = Date.UTC(2026, 0, 1);

/** The body the callback puts on the events queue for `event`. */
function aQueued(event: Record<string, unknown>, over: Partial<QueuedEvent> = {}): string {
  return JSON.stringify({
    tenantId: 'acme',
    eventId: String(event.eventId ?? 'evt-1'),
    eventType: String(event.EventType ?? 'unknown'),
    receivedAt: RECEIVED,
    event,
    ...over,
  });
}

function invalidReason(body: string): string {
  try {
    prepareEvent(body, FALLBACK);
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidEventError);
    return (e as Error).message;
  }
  throw new Error('expected the event to be invalid');
}

describe('preparing a queued event', () => {
  it('a rename becomes a title change versioned by its EventTime, the title kept exactly', () => {
    const e = prepareEvent(aQueued(rename), FALLBACK);
    expect(e).toMatchObject({ tenantId: 'acme', eventId: rename.eventId, eventType: 'chat_update_title', corpId: rename.CorpId, receivedAtMs: Date.parse(RECEIVED) });
    expect(e.change as TitleChange).toEqual({
      openConversationId: rename.openConversationId,
      title: '值班群 · On-call',
      at: 1764300000000,
      operator: 'manager001',
      chatId: 'chat0001',
      corpId: rename.CorpId,
      eventId: rename.eventId,
    });
  });

  it('an install becomes a link change versioned by operateTime, with the app and robot codes', () => {
    const e = prepareEvent(aQueued({ ...install, operateTime: '1764300000999' }), FALLBACK);
    expect(e.change as LinkChange).toMatchObject({
      openConversationId: install.openConversationId,
      linked: true,
      at: 1764300000999,
      coolAppCode: install.coolAppCode,
      robotCode: install.robotCode,
      operator: install.operator,
      openConversationCorpId: install.openConversationCorpId,
    });
  });

  it('an uninstall becomes an unlink', () => {
    const e = prepareEvent(aQueued({ ...install, EventType: 'im_cool_app_uninstall' }), FALLBACK);
    expect((e.change as LinkChange).linked).toBe(false);
  });

  it('keys are read whatever their casing', () => {
    const e = prepareEvent(
      aQueued({ EventType: 'chat_update_title', EventId: 'e9', corpid: 'ding-c', OpenConversationId: 'cid-X', Title: '新名字', EVENTTIME: 1764300000123 }),
      FALLBACK,
    );
    expect(e.corpId).toBe('ding-c');
    expect(e.change).toMatchObject({ openConversationId: 'cid-X', title: '新名字', at: 1764300000123 });
  });

  it('without an event time the version is when the callback received the event', () => {
    const { EventTime: _e, timeStamp: _t, ...noTime } = rename;
    expect((prepareEvent(aQueued(noTime), FALLBACK).change as TitleChange).at).toBe(Date.parse(RECEIVED));
    expect(prepareEvent(aQueued(noTime, { receivedAt: undefined }), FALLBACK).receivedAtMs).toBe(FALLBACK);
  });

  it('an unknown event type is valid and carries no change', () => {
    const e = prepareEvent(aQueued({ EventType: 'user_add_org', eventId: 'u1', CorpId: 'ding-c' }), FALLBACK);
    expect(e).toMatchObject({ eventType: 'user_add_org', corpId: 'ding-c' });
    expect(e.change).toBeUndefined();
  });

  it('the event type falls back to the event’s own EventType', () => {
    const e = prepareEvent(aQueued(rename, { eventType: undefined }), FALLBACK);
    expect(e.eventType).toBe('chat_update_title');
  });

  it.each([
    ['a body that is not JSON', () => '{"tenantId": "acme", ', /not JSON/],
    ['a missing tenantId', () => aQueued(rename, { tenantId: undefined }), /tenantId/],
    ['an empty tenantId', () => aQueued(rename, { tenantId: '  ' }), /tenantId/],
    ['a missing eventId', () => aQueued(rename, { eventId: undefined }), /eventId/],
    ['no event object', () => JSON.stringify({ tenantId: 'acme', eventId: 'e', eventType: 'chat_update_title', event: 'x' }), /event/],
    ['a rename without openConversationId', () => aQueued({ ...rename, openConversationId: undefined }), /openConversationId/],
    ['a rename without title', () => aQueued({ ...rename, title: '' }), /title/],
    ['an install without openConversationId', () => aQueued({ ...install, openConversationId: undefined }), /openConversationId/],
    ['no event type at all', () => aQueued({ eventId: 'x' }, { eventType: undefined }), /event type/],
  ])('%s is invalid, with the reason', (_, body, reason) => {
    expect(invalidReason(body())).toMatch(reason);
  });
});
