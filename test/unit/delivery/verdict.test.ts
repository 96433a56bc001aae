import { verdictOf } from '../../../lib/delivery/verdict';

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
