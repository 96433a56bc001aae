import { backoffSeconds, queueUrlOfArn } from '../../../lib/sender/backoff';
import { CLAIM_LEASE_MS, decide } from '../../../lib/delivery/outcomes';
import { chunk, dedupe, maskMobile, MAX_USERS_PER_BATCH, runPool } from '../../../lib/notify/recipients';
import { verdictOf } from '../../../lib/sender/createSender';

describe('recipients', () => {
  it('45 users make three batches of 20, 20 and 5', () => {
    const users = Array.from({ length: 45 }, (_, i) => `u${i}`);
    expect(chunk(users, MAX_USERS_PER_BATCH).map((c) => c.length)).toEqual([20, 20, 5]);
    expect(chunk(users, 20).flat()).toEqual(users);
  });

  it('exact multiples and empty lists', () => {
    expect(chunk(Array(40).fill('u'), 20).map((c) => c.length)).toEqual([20, 20]);
    expect(chunk([], 20)).toEqual([]);
    expect(() => chunk([1], 0)).toThrow(RangeError);
  });

  it('duplicates are dropped, order kept', () => {
    expect(dedupe(['b', 'a', 'b', 'c', 'a'])).toEqual(['b', 'a', 'c']);
    expect(dedupe(undefined)).toEqual([]);
  });

  it('mobiles are masked in logs', () => {
    expect(maskMobile('13800000001')).toBe('138****0001');
    expect(maskMobile('12345')).toBe('****');
  });

  it('runPool runs at most `limit` at once and reports the first error after all settled', async () => {
    let running = 0;
    let peak = 0;
    const done: number[] = [];
    const tasks = Array.from({ length: 7 }, (_, i) => async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      done.push(i);
      if (i === 2) throw new Error('boom');
    });
    await expect(runPool(tasks, 3)).rejects.toThrow('boom');
    expect(peak).toBe(3);
    expect(done.sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });
});

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

describe('idempotency rule', () => {
  const now = 1_000_000_000;

  it('new recipients and retryable failures are claimed', () => {
    expect(decide(undefined, now)).toBe('claim');
    for (const status of ['retry', 'flowControlled', 'quotaExhausted', 'failed'] as const) expect(decide({ status }, now)).toBe('claim');
  });

  it('what was sent (or may have been) is never sent again', () => {
    for (const status of ['sent', 'invalidUser', 'unknownMobile', 'unknown', 'resolved'] as const) expect(decide({ status }, now)).toBe('skip');
  });

  it('a fresh claim belongs to an attempt still running; an old one was orphaned by a crash', () => {
    expect(decide({ status: 'pending', claimedAt: now - 1000 }, now)).toBe('inFlight');
    expect(decide({ status: 'pending', claimedAt: now - CLAIM_LEASE_MS }, now)).toBe('orphaned');
  });
});

describe('verdict of an attempt', () => {
  it('all final -> done', () => {
    expect(verdictOf([['user u1', 'sent'], ['mobile m', 'unknownMobile'], ['user u2', 'invalidUser']])).toMatchObject({ verdict: 'done', counts: { sent: 1, unknownMobile: 1, invalidUser: 1 } });
  });

  it('anything retryable wins, then quota, then permanent failures', () => {
    expect(verdictOf([['group g', 'failed', 'group.disbanded'], ['user u', 'retry', '503']]).verdict).toBe('retry');
    expect(verdictOf([['group g', 'failed', 'x'], ['user u', 'quotaExhausted', '90020']]).verdict).toBe('quotaExhausted');
    expect(verdictOf([['group g', 'failed', 'group.disbanded (gone)'], ['user u', 'sent']])).toMatchObject({ verdict: 'deadLetter', reason: 'permanent failure: group g: group.disbanded (gone)' });
  });
});
