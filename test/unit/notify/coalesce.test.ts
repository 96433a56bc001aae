import { coalesceKey, coalesceRecipients } from '../../../lib/notify/coalesce';
import { groupBy } from '../../../lib/util/lists';
import { BATCH_SEND_MAX_USERS } from '../../../lib/dingtalk/client';
import { render } from '../../../lib/notify/render';
import type { NotifyContent } from '../../../lib/contracts/notifyMessage';

const content = (over: Partial<NotifyContent> = {}): NotifyContent => ({ title: '[P1] DB down', markdown: '### [P1] DB down\n- service: orders', ...over });
const keyOf = (over: { tenantId?: string; severity?: 'critical' | 'warning' | 'info'; message?: Partial<NotifyContent> } = {}) =>
  coalesceKey({ tenantId: over.tenantId ?? 'acme', severity: over.severity }, render(content(over.message)));

describe('which notifications may share a batchSend', () => {
  it('the same content, tenant and severity share a key, whoever they go to', () => {
    expect(keyOf()).toBe(keyOf());
    expect(keyOf({ severity: 'critical' })).toBe(keyOf({ severity: 'critical' }));
  });

  it('another tenant, severity, body, title or link does not', () => {
    const base = keyOf();
    expect(keyOf({ tenantId: 'other' })).not.toBe(base);
    expect(keyOf({ severity: 'critical' })).not.toBe(base);
    expect(keyOf({ severity: 'info' })).not.toBe(keyOf({ severity: 'warning' }));
    expect(keyOf({ message: { markdown: '### [P1] DB down\n- service: payments' } })).not.toBe(base);
    expect(keyOf({ message: { title: '[P2] DB down' } })).not.toBe(base);
    expect(keyOf({ message: { url: 'https://flashduty.com/i/1' } })).not.toBe(base);
  });

  it('two notifications DingTalk would show the same way share it (the rendered message decides)', () => {
    // a lone url is shown as a "View in Flashduty" button, in Chinese unless the tenant says otherwise
    const url = 'https://flashduty.com/i/1';
    expect(keyOf({ message: { url } })).toBe(keyOf({ message: { buttons: [{ title: '在 Flashduty 中查看', url }] } }));
  });
});

describe('grouping', () => {
  it('keeps the order of first appearance, and the order within a group', () => {
    expect(groupBy(['a1', 'b1', 'a2', 'c1', 'b2'], (s) => s[0])).toEqual([['a1', 'a2'], ['b1', 'b2'], ['c1']]);
    expect(groupBy([], () => 'x')).toEqual([]);
  });
});

describe('the union of claimed users, 20 distinct per call', () => {
  it('25 messages to one user each make two calls of 20 and 5', () => {
    // given
    const claims = Array.from({ length: 25 }, (_, i) => [`m${i + 1}`, [`u${i + 1}`]] as const);
    // when
    const chunks = coalesceRecipients(claims, BATCH_SEND_MAX_USERS);
    // then
    expect(chunks.map((c) => c.length)).toEqual([20, 5]);
    expect(chunks.flat().map((s) => s.to)).toEqual(claims.map(([, [u]]) => u));
    expect(chunks.flat().every((s, i) => s.holders.length === 1 && s.holders[0] === `m${i + 1}`)).toBe(true);
  });

  it('a user claimed by two messages is in one call, with both of them', () => {
    const chunks = coalesceRecipients([['m1', ['u1', 'u2']], ['m2', ['u2', 'u3']]], 20);
    expect(chunks).toEqual([[{ to: 'u1', holders: ['m1'] }, { to: 'u2', holders: ['m1', 'm2'] }, { to: 'u3', holders: ['m2'] }]]);
  });

  it('counts distinct users, not claims: 30 messages to the same 20 users make one call', () => {
    const users = Array.from({ length: 20 }, (_, i) => `u${i}`);
    const chunks = coalesceRecipients(Array.from({ length: 30 }, (_, i) => [i, users] as const), 20);
    expect(chunks).toHaveLength(1);
    expect(chunks[0].every((s) => s.holders.length === 30)).toBe(true);
  });

  it('one message alone is chunked as before: 45 users -> 20, 20, 5', () => {
    const users = Array.from({ length: 45 }, (_, i) => `u${i}`);
    expect(coalesceRecipients([['m', users]], 20).map((c) => c.length)).toEqual([20, 20, 5]);
  });

  it('nothing claimed, no call; a bad size is refused', () => {
    expect(coalesceRecipients([['m1', []], ['m2', []]], 20)).toEqual([]);
    expect(() => coalesceRecipients([['m1', ['u1']]], 0)).toThrow(RangeError);
  });
});
