import { whyPoison } from '../../../lib/queue/poison';
import { aNotify } from '../../support/factories';

/** What `npm run dlq -- redrive` leaves in a DLQ: only what would fail again for certain. */

const registered = new Set(['acme']);
const checks = { tenantExists: async (t: string) => registered.has(t) };
const dlq = { maxMessageBytes: 1024 };
const why = (queue: 'notify' | 'events' | 'drain' | 'actions', body: unknown, reason = 'no reason recorded') =>
  whyPoison({ queue, body: typeof body === 'string' ? body : JSON.stringify(body), reason }, dlq, checks);

describe('a dead letter that can never succeed', () => {
  it('a notify message the contract rejects', async () => {
    expect(await why('notify', { ...aNotify({ tenantId: 'acme' }), to: {} })).toMatch(/at least one of userIds, mobiles, openConversationIds/);
    expect(await why('notify', 'not json')).toBe('body is not JSON');
  });

  it('a notify message for a tenant that is not registered', async () => {
    expect(await why('notify', aNotify({ tenantId: 'gone' }))).toBe('tenant gone is not registered');
  });

  it('a body longer than its queue takes', async () => {
    const long = aNotify({ tenantId: 'acme' }, { message: { title: 't', markdown: 'x'.repeat(2000) } });
    expect(await why('notify', long)).toMatch(/^too long for the notify queue: \d+ bytes, at most 1024$/);
  });

  it('a message SQS refused to take back', async () => {
    expect(await why('notify', aNotify({ tenantId: 'acme' }), 'SQS refused the parked message: MessageTooLong')).toBe('SQS refused the parked message: MessageTooLong');
  });

  it('an event the events function cannot read, a drain request that is not one', async () => {
    const rename = { tenantId: 'acme', eventId: 'e1', eventType: 'chat_update_title', event: { EventType: 'chat_update_title', title: 'x' } };
    expect(await why('events', rename)).toBe('chat_update_title event has no openConversationId');
    expect(await why('drain', { app: 'x' })).toMatch(/^invalid drain request: /);
  });
});

describe('a dead letter worth sending back', () => {
  it('a valid message for a registered tenant, whatever failed before', async () => {
    expect(await why('notify', aNotify({ tenantId: 'acme' }), 'gave up after 8 attempts: retryable: user1: http500 (boom)')).toBeUndefined();
    expect(await why('notify', aNotify({ tenantId: 'acme' }), 'permanent failure: group cid==: 400 (robot not in group)')).toBeUndefined();
  });

  it('an event or a drain request SQS moved after failed receives', async () => {
    const rename = { tenantId: 'acme', eventId: 'e1', eventType: 'chat_update_title', event: { EventType: 'chat_update_title', OpenConversationId: 'cid==', title: 'x' } };
    expect(await why('events', rename)).toBeUndefined();
    expect(await why('drain', { clientId: 'dingabc' })).toBeUndefined();
  });
});

describe('the actions DLQ (docs/two-way.md)', () => {
  const action = (tenantId: string) => ({ version: 1, id: 'a1', tenantId, at: '2026-11-30T03:00:00.000Z', incidentId: 'inc1', action: 'ack', by: { dingtalkUserId: 'u1', memberId: '2476444212131' } });

  it('keeps an invalid action or one for a tenant not registered', async () => {
    expect(await why('actions', { ...action('acme'), action: 'snooze' })).toMatch(/snoozeMinutes is required/);
    expect(await why('actions', action('gone'))).toBe('tenant gone is not registered');
  });

  it('sends back a valid action of a registered tenant (a key fixed after a 401, say)', async () => {
    expect(await why('actions', action('acme'), 'Flashduty /incident/ack: HTTP 401 Unauthorized')).toBeUndefined();
  });
});
