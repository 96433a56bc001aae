import type { SQSRecord } from 'aws-lambda';
import { createEventRecordHandler } from '../../../lib/events/createEventRecordHandler';
import type { EventOutcome, PreparedEvent } from '../../../lib/events/types';
import { logger } from '../../../lib/log';
import rename from '../../fixtures/event-rename.json';

const NOW = Date.UTC(2026, 4, 1);

function aRecord(body: string, over: Partial<SQSRecord> = {}): SQSRecord {
  return {
    messageId: `m-${Math.random().toString(16).slice(2)}`,
    receiptHandle: 'rh',
    body,
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(NOW - 1000), SenderId: 'S', ApproximateFirstReceiveTimestamp: String(NOW) },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:dingtalk-events',
    awsRegion: 'us-east-1',
    ...over,
  };
}

const aRenameBody = (over: Record<string, unknown> = {}) =>
  JSON.stringify({ tenantId: 'acme', eventId: rename.eventId, eventType: 'chat_update_title', event: { ...rename, ...over } });

function aWorld(process: (e: PreparedEvent) => Promise<EventOutcome> = async (e) => ({ eventType: e.eventType, result: 'applied' })) {
  const processed: PreparedEvent[] = [];
  const deadLettered: { record: SQSRecord; reason: string }[] = [];
  const deps = {
    process: async (e: PreparedEvent) => (processed.push(e), process(e)),
    deadLetter: async (record: SQSRecord, reason: string) => void deadLettered.push({ record, reason }),
    now: () => NOW,
  };
  return { deps, processed, deadLettered };
}

let errors: jest.SpyInstance;
beforeEach(() => {
  errors = jest.spyOn(logger, 'error').mockImplementation(() => undefined);
  jest.spyOn(logger, 'info').mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());

describe('the events record handler', () => {
  it('a valid event is processed once and its outcome returned', async () => {
    const w = aWorld();
    const out = await createEventRecordHandler(w.deps)(aRecord(aRenameBody()));
    expect(out).toEqual({ eventType: 'chat_update_title', result: 'applied' });
    expect(w.processed).toHaveLength(1);
    expect(w.processed[0]).toMatchObject({ tenantId: 'acme', eventId: rename.eventId });
  });

  it('an invalid event goes to the dead-letter queue with its reason, is logged and acknowledged', async () => {
    const w = aWorld();
    const record = aRecord(aRenameBody({ openConversationId: undefined }));
    const out = await createEventRecordHandler(w.deps)(record);
    expect(out).toEqual({ result: 'dead-lettered', reason: expect.stringMatching(/openConversationId/) });
    expect(w.deadLettered).toEqual([{ record, reason: expect.stringMatching(/openConversationId/) }]);
    expect(w.processed).toHaveLength(0);
    expect(errors).toHaveBeenCalledWith('invalid event sent to the dead-letter queue', expect.objectContaining({ messageId: record.messageId, reason: expect.any(String) }));
  });

  it('without a dead-letter queue an invalid event fails, so the queue’s redrive takes it', async () => {
    const w = aWorld();
    const handler = createEventRecordHandler({ ...w.deps, deadLetter: undefined });
    await expect(handler(aRecord('not json'))).rejects.toThrow(/not JSON/);
    expect(w.processed).toHaveLength(0);
  });

  it('a failure while sending to the dead-letter queue fails the record (it is retried)', async () => {
    const w = aWorld();
    const handler = createEventRecordHandler({ ...w.deps, deadLetter: async () => Promise.reject(new Error('sqs down')) });
    await expect(handler(aRecord('not json'))).rejects.toThrow('sqs down');
  });

  it('a processing failure propagates, so only this record is retried', async () => {
    const w = aWorld(async () => Promise.reject(new Error('dynamodb throttled')));
    await expect(createEventRecordHandler(w.deps)(aRecord(aRenameBody()))).rejects.toThrow('dynamodb throttled');
    expect(w.deadLettered).toHaveLength(0);
  });

  it('a record without receivedAt is dated by its SentTimestamp', async () => {
    const w = aWorld();
    await createEventRecordHandler(w.deps)(aRecord(JSON.stringify({ tenantId: 'acme', eventId: 'e', event: { EventType: 'x' } })));
    expect(w.processed[0].receivedAtMs).toBe(NOW - 1000);
  });
});
