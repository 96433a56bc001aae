import { backoffSeconds, queueUrlOfArn } from '../../../lib/sender/backoff';

describe('retry backoff', () => {
  const policy = { baseSeconds: 5, capSeconds: 900 };

  it('doubles per receive, half fixed and half jitter', () => {
    expect([1, 2, 3, 4].map((n) => backoffSeconds(n, policy, () => 0))).toEqual([3, 5, 10, 20]);
    expect([1, 2, 3, 4].map((n) => backoffSeconds(n, policy, () => 1))).toEqual([5, 10, 20, 40]);
  });

  it('is capped', () => {
    expect(backoffSeconds(30, policy, () => 1)).toBe(900);
  });

  it('a zero base retries at once (tests, local runs)', () => {
    expect(backoffSeconds(3, { baseSeconds: 0, capSeconds: 900 })).toBe(0);
  });

  it('the queue URL comes from the event source ARN', () => {
    expect(queueUrlOfArn('arn:aws:sqs:cn-north-1:123456789012:dingtalk-notify')).toBe('https://sqs.cn-north-1.amazonaws.com/123456789012/dingtalk-notify');
    expect(queueUrlOfArn('nonsense')).toBeUndefined();
  });
});
