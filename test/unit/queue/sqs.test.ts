import { isPermanentSendError, sqsJson } from '../../../lib/queue/sqs';

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
  });
});
