import { randomUUID } from 'node:crypto';
import { clearExhausted, markExhausted, release, reserveCalls, usage, type QuotaGrant } from '../../../lib/quota/counter';
import { useLocalTable } from '../../support/localAws';

const table = useLocalTable();

/** Pinned times lie in the future: DynamoDB Local really deletes items whose TTL has passed. */
const MID_MARCH = Date.parse('2031-03-15T04:00:00Z');
const aCorp = () => `dingcorp-${randomUUID().slice(0, 8)}`;

/** Uses up `n` calls of the month for the organisation (critical, so the reserve is reachable). */
async function useUp(corpId: string, n: number, quota: number, now = MID_MARCH): Promise<void> {
  const g = await reserveCalls(table, corpId, n, { quota, severity: 'critical' }, now);
  expect(g.granted).toBe(n);
}

describe('the monthly quota counter', () => {
  it('grants what is asked while the quota lasts and counts it at once', async () => {
    const corp = aCorp();
    const g = await reserveCalls(table, corp, 20, { quota: 10_000, severity: 'info' }, MID_MARCH);
    expect(g).toEqual({ month: '2031-03', granted: 20, used: 20 });
    expect(await usage(table, corp, MID_MARCH)).toEqual({ month: '2031-03', used: 20, quota: 10_000, exhausted: false });
  });

  it('grants part of a request that would pass the quota (15 of 20)', async () => {
    const corp = aCorp();
    await useUp(corp, 85, 100);
    const g = await reserveCalls(table, corp, 20, { quota: 100, severity: 'critical' }, MID_MARCH);
    expect(g).toEqual({ month: '2031-03', granted: 15, used: 100, reason: 'quota_reached' });
    expect(await reserveCalls(table, corp, 1, { quota: 100, severity: 'critical' }, MID_MARCH)).toMatchObject({ granted: 0, reason: 'quota_reached' });
    expect((await usage(table, corp, MID_MARCH)).used).toBe(100);
  });

  it('keeps the last 5 % for critical messages', async () => {
    const corp = aCorp();
    // given: 94 of 100 used; non-critical messages may reach 95
    await useUp(corp, 94, 100);
    // when / then
    expect(await reserveCalls(table, corp, 3, { quota: 100, severity: 'warning' }, MID_MARCH)).toMatchObject({ granted: 1, used: 95, reason: 'reserved_for_critical' });
    expect(await reserveCalls(table, corp, 1, { quota: 100 }, MID_MARCH)).toMatchObject({ granted: 0, reason: 'reserved_for_critical' });
    expect(await reserveCalls(table, corp, 5, { quota: 100, severity: 'critical' }, MID_MARCH)).toMatchObject({ granted: 5, used: 100 });
  });

  it('honours a custom reserve and a quota of zero', async () => {
    const corp = aCorp();
    expect(await reserveCalls(table, corp, 50, { quota: 100, reservePercent: 20 }, MID_MARCH)).toMatchObject({ granted: 50 });
    expect(await reserveCalls(table, corp, 50, { quota: 100, reservePercent: 20 }, MID_MARCH)).toMatchObject({ granted: 30, reason: 'reserved_for_critical' });
    expect(await reserveCalls(table, aCorp(), 1, { quota: 0, severity: 'critical' }, MID_MARCH)).toMatchObject({ granted: 0, reason: 'quota_reached' });
  });

  it('never passes the quota under 10 concurrent reservers', async () => {
    // given: 10 instances asking for 1-7 calls at a time until refused, quota 500 (475 non-critical)
    const corp = aCorp();
    const grants: QuotaGrant[] = [];
    const reserver = async (i: number) => {
      const severity = i % 2 ? 'critical' : 'info';
      for (;;) {
        const g = await reserveCalls(table, corp, 1 + Math.floor(Math.random() * 7), { quota: 500, severity }, MID_MARCH);
        grants.push(g);
        if (g.granted === 0 && (severity === 'info' || g.reason === 'quota_reached')) return;
      }
    };
    // when
    await Promise.all(Array.from({ length: 10 }, (_, i) => reserver(i)));
    // then: exactly the quota was granted, no grant ever saw more than the quota used
    const total = grants.reduce((s, g) => s + g.granted, 0);
    expect(total).toBe(500);
    expect(Math.max(...grants.map((g) => g.used))).toBe(500);
    expect((await usage(table, corp, MID_MARCH)).used).toBe(500);
  }, 30_000);

  it('takes back released calls, in the month they were reserved in, never below zero', async () => {
    const corp = aCorp();
    const g = await reserveCalls(table, corp, 10, { quota: 100 }, MID_MARCH);
    // the month turns before the failures are known
    const april = Date.parse('2031-03-31T16:00:00Z');
    await useUp(corp, 3, 100, april);
    expect(await release(table, corp, 4, g.month)).toBe(true);
    expect((await usage(table, corp, MID_MARCH)).used).toBe(6);
    expect((await usage(table, corp, april)).used).toBe(3);
    expect(await release(table, corp, 7, g.month)).toBe(false);
    expect(await release(table, aCorp(), 1, g.month)).toBe(false);
    expect((await usage(table, corp, MID_MARCH)).used).toBe(6);
  });

  it('stops every call for the rest of the month once DingTalk says the quota is spent', async () => {
    const corp = aCorp();
    await useUp(corp, 10, 10_000);
    // when
    await markExhausted(table, corp, '2031-03', MID_MARCH);
    // then
    expect(await reserveCalls(table, corp, 1, { quota: 10_000, severity: 'critical' }, MID_MARCH)).toMatchObject({ granted: 0, reason: 'exhausted' });
    expect(await usage(table, corp, MID_MARCH)).toMatchObject({ used: 10, exhausted: true, exhaustedAt: new Date(MID_MARCH).toISOString() });
    // the next month starts afresh
    const april = Date.parse('2031-03-31T16:00:00Z');
    expect(await reserveCalls(table, corp, 1, { quota: 10_000 }, april)).toMatchObject({ month: '2031-04', granted: 1 });
    // and an operator can lift it once DingTalk raised the quota
    await clearExhausted(table, corp, '2031-03');
    expect(await reserveCalls(table, corp, 1, { quota: 20_000 }, MID_MARCH)).toMatchObject({ granted: 1, used: 11 });
  });

  it('marks a month exhausted even before any call was counted', async () => {
    const corp = aCorp();
    await markExhausted(table, corp, '2031-03', MID_MARCH);
    expect(await reserveCalls(table, corp, 1, { quota: 10, severity: 'critical' }, MID_MARCH)).toMatchObject({ granted: 0, reason: 'exhausted' });
  });

  it('resets at 00:00 China time on the 1st (16:00 UTC the day before)', async () => {
    // given: January used up
    const corp = aCorp();
    const turn = Date.parse('2031-01-31T16:00:00Z');
    await useUp(corp, 50, 50, turn - 1);
    expect(await reserveCalls(table, corp, 1, { quota: 50, severity: 'critical' }, turn - 1)).toMatchObject({ month: '2031-01', granted: 0 });
    // when the month turns, then
    expect(await reserveCalls(table, corp, 1, { quota: 50, severity: 'critical' }, turn)).toEqual({ month: '2031-02', granted: 1, used: 1 });
    expect(await usage(table, corp, turn)).toMatchObject({ month: '2031-02', used: 1 });
    expect(await usage(table, corp, turn - 1)).toMatchObject({ month: '2031-01', used: 50 });
  });
});
