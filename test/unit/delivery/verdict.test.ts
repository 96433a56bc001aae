import { failureFields, verdictOf } from '../../../lib/delivery/verdict';

describe('verdict of an attempt', () => {
  it('all final -> done', () => {
    expect(verdictOf([['user u1', 'sent'], ['mobile m', 'unknownMobile'], ['user u2', 'invalidUser']])).toMatchObject({ verdict: 'done', counts: { sent: 1, unknownMobile: 1, invalidUser: 1 } });
  });

  it('anything retryable wins, then quota, then permanent failures', () => {
    expect(verdictOf([['group g', 'failed', 'group.disbanded'], ['user u', 'retry', '503']]).verdict).toBe('retry');
    expect(verdictOf([['group g', 'failed', 'x'], ['user u', 'quotaExhausted', '90020']]).verdict).toBe('quotaExhausted');
    expect(verdictOf([['group g', 'failed', 'group.disbanded (gone)'], ['user u', 'sent']])).toMatchObject({ verdict: 'deadLetter', reason: 'permanent failure: group g: group.disbanded (gone)' });
  });

  it('a recipient another attempt holds is never taken for done: the message is deferred until that claim can end', () => {
    expect(verdictOf([['user u1', 'sent'], ['user u2', 'inFlight']], 121_000)).toMatchObject({ verdict: 'defer', deferMs: 121_000, counts: { sent: 1, inFlight: 1 } });
    expect(verdictOf([['user u1', 'inFlight'], ['user u2', 'retry', '503']]).verdict).toBe('retry');
  });

  it('an ambiguous failure is marked as a possible duplicate on the record; a clear refusal is not', () => {
    const fail = (cause: 'timeout' | 'qps') => ({ kind: 'retryable' as const, code: cause, message: cause, status: 0, cause });
    expect(failureFields(fail('timeout'))).toMatchObject({ status: 'retry', possibleDuplicate: true });
    expect(failureFields(fail('qps'))).not.toHaveProperty('possibleDuplicate');
  });
});
