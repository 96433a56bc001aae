import { CLAIM_LEASE_MS, decide } from '../../../lib/delivery/rule';

describe('idempotency rule', () => {
  const now = 1_000_000_000;

  it('new recipients and retryable failures are claimed', () => {
    expect(decide(undefined, now)).toBe('claim');
    for (const status of ['retry', 'flowControlled', 'quotaExhausted', 'failed'] as const) expect(decide({ status }, now)).toBe('claim');
  });

  it('what DingTalk answered for is never sent again (unknown: records of earlier versions)', () => {
    for (const status of ['sent', 'invalidUser', 'unknownMobile', 'unknown', 'resolved'] as const) expect(decide({ status }, now)).toBe('skip');
  });

  it('a fresh claim belongs to an attempt still running; an old one was orphaned by a crash and is taken over', () => {
    expect(decide({ status: 'pending', claimedAt: now - 1000 }, now)).toBe('inFlight');
    expect(decide({ status: 'pending', claimedAt: now - CLAIM_LEASE_MS }, now)).toBe('orphaned');
  });
});
