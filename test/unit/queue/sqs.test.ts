import type { SQSClient } from '@aws-sdk/client-sqs';
import { isPermanentSendError, sendJson, sendText, sqsJson } from '../../../lib/queue/sqs';

describe('JSON for SQS', () => {
  it('escapes the characters SQS refuses raw and keeps the same JSON value', () => {
    const value = { title: 'a\uFFFEb\uFFFFc', cjk: '支付服务 😀', tab: '\t' };
    const text = sqsJson(value);
    expect(text).not.toMatch(/[\uFFFE\uFFFF]/);
    expect(text).toContain('\\ufffe');
    expect(JSON.parse(text)).toEqual(value);
    expect(text).toContain('支付服务 😀');
  });

  it('tells a refused message (client fault) from throttling and outages', () => {
    expect(isPermanentSendError(Object.assign(new Error('x'), { name: 'InvalidMessageContents', $fault: 'client' }))).toBe(true);
    expect(isPermanentSendError(Object.assign(new Error('x'), { name: 'RequestThrottled', $fault: 'client' }))).toBe(false);
    expect(isPermanentSendError(Object.assign(new Error('x'), { name: 'InternalError', $fault: 'server' }))).toBe(false);
    expect(isPermanentSendError(new Error('socket hang up'))).toBe(false);
    // the operator's to fix, not the message's: it waits, it is not dead-lettered
    expect(isPermanentSendError(Object.assign(new Error('x'), { name: 'AccessDenied', $fault: 'client' }))).toBe(false);
    expect(isPermanentSendError(Object.assign(new Error('x'), { name: 'QueueDoesNotExist', $fault: 'client' }))).toBe(false);
  });
});

describe('sending to a queue', () => {
  const recording = () => {
    const sent: Array<Record<string, unknown>> = [];
    const sqs = { send: async (cmd: { input: Record<string, unknown> }) => (sent.push(cmd.input), { MessageId: `m-${sent.length}` }) } as unknown as SQSClient;
    return { sqs, sent };
  };

  it('puts the tenant in the message group (SQS fair queues), with the delay and attributes given', async () => {
    const { sqs, sent } = recording();
    await sendJson(sqs, 'https://q', { tenantId: 'acme', x: 1 }, { groupId: 'acme' });
    await sendText(sqs, 'https://q', '{"tenantId":"acme"}', { groupId: 'acme', delaySeconds: 30, numbers: { deferrals: 2 } });
    expect(sent).toEqual([
      expect.objectContaining({ QueueUrl: 'https://q', MessageBody: '{"tenantId":"acme","x":1}', MessageGroupId: 'acme' }),
      expect.objectContaining({ DelaySeconds: 30, MessageGroupId: 'acme', MessageAttributes: { deferrals: { DataType: 'Number', StringValue: '2' } } }),
    ]);
  });

  it('sends no message group when none is given', async () => {
    const { sqs, sent } = recording();
    await sendText(sqs, 'https://q', 'x');
    expect(sent[0]).not.toHaveProperty('MessageGroupId');
  });
});
