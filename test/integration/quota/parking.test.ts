import { randomUUID } from 'node:crypto';
import { ackParked, countParked, forgetParkedOrg, listParked, park as parkAs, parkedOrgs, takeParked } from '../../../lib/quota/parking';
import { reserveCalls } from '../../../lib/quota/counter';
import { formatUsage, usageReport } from '../../../lib/quota/usage';
import { parkedCount } from '../../../lib/quota/parkedCount';
import { useLocalTable } from '../../support/localAws';

const table = useLocalTable();

const NOW = Date.parse('2031-03-20T02:00:00Z');
const aCorp = () => `dingcorp-${randomUUID().slice(0, 8)}`;
/** Parks a non-critical message of tenant t1 at `now`. */
const park = (table: Parameters<typeof parkAs>[0], corp: string, msg: { id: string }, reason: string, now: number, critical = false) => parkAs(table, corp, msg, reason, { tenantId: 't1', critical, now });
const aMessage = (id: string = randomUUID()) => ({ version: 1, id, tenantId: 't1', kind: 'notify', message: { title: 'CPU', markdown: '**high**' } });

describe('parked messages', () => {
  it('are counted without being read: each park adds one, each re-queue takes one off', async () => {
    const corp = aCorp();
    for (const id of ['c-1', 'c-2', 'c-3']) await park(table, corp, aMessage(id), 'quota', NOW);
    expect(await parkedCount(table, corp, NOW)).toBe(3);
    const taken = await takeParked(table, corp, 2, { now: NOW });
    expect(await ackParked(table, taken)).toBe(2);
    expect(await parkedCount(table, corp, NOW)).toBe(1);
    expect(await ackParked(table, taken)).toBe(0);
    expect(await parkedCount(table, corp, NOW)).toBe(1);
  });

  it('expire 7 days after the quota resets (the next China-time month begins): no longer counted, never re-queued', async () => {
    const corp = aCorp();
    // Parked on the last China-time day of March (2031-03-31 23:30 CST): April begins 30 minutes later.
    const lastDay = Date.parse('2031-03-31T15:30:00Z');
    await park(table, corp, aMessage('old'), 'quota', lastDay);
    await park(table, corp, aMessage('early'), 'quota', Date.parse('2031-03-01T00:00:00Z'));
    const parked = await listParked(table, corp);
    // April begins 2031-03-31 16:00 UTC (00:00 CST); 7 days later, for both.
    expect(parked.map((p) => new Date(p.expiresAt! * 1000).toISOString())).toEqual(['2031-04-07T16:00:00.000Z', '2031-04-07T16:00:00.000Z']);
    const justBefore = Date.parse('2031-04-07T15:59:59Z');
    const at = Date.parse('2031-04-07T16:00:00Z');
    expect(await parkedCount(table, corp, justBefore)).toBe(2);
    expect(await parkedCount(table, corp, at)).toBe(0);
    expect(await takeParked(table, corp, 10, { now: at })).toEqual([]);
    expect((await takeParked(table, corp, 10, { now: justBefore })).map((t) => t.messageId).sort()).toEqual(['early', 'old']);
  });

  it('are kept with their reason and listed critical first, then oldest', async () => {
    const corp = aCorp();
    const march = aMessage('m-1');
    const february = aMessage('m-2');
    const critical = aMessage('m-3');
    await park(table, corp, march, 'quota_reached', NOW);
    await park(table, corp, february, 'exhausted', Date.parse('2031-02-10T00:00:00Z'));
    await park(table, corp, critical, 'exhausted', NOW + 1000, true);
    const parked = await listParked(table, corp);
    expect(parked.map((p) => [p.month, p.messageId, p.reason, p.critical])).toEqual([
      ['2031-03', 'm-3', 'exhausted', true],
      ['2031-02', 'm-2', 'exhausted', false],
      ['2031-03', 'm-1', 'quota_reached', false],
    ]);
    expect(parked[2]).toMatchObject({ corpId: corp, parkedAt: NOW, message: march });
    expect(await countParked(table, corp)).toBe(3);
  });

  it('parked again while a sweep holds the earlier copy, keep the new copy when the sweep acknowledges', async () => {
    // given: a sweep took the parked copy and re-queued it
    const corp = aCorp();
    const msg = aMessage();
    await park(table, corp, msg, 'quota_reached', NOW);
    const taken = await takeParked(table, corp, 10, { now: NOW });
    // when: the re-queued copy runs out of quota again and is parked before the sweep acknowledges
    await park(table, corp, msg, 'quota_reached', NOW + 1000);
    await ackParked(table, taken);
    // then: the message is still parked (the sweep removed only the copy it leased)
    expect((await listParked(table, corp)).map((p) => [p.messageId, p.parkedAt])).toEqual([[msg.id, NOW + 1000]]);
  });

  it('put their organisation on the work list of the unpark sweep until nothing of it is parked', async () => {
    const corp = aCorp();
    await park(table, corp, aMessage(), 'quota_reached', NOW);
    const entry = (await parkedOrgs(table)).find((o) => o.corpId === corp);
    expect(entry).toEqual({ corpId: corp, tenantIds: ['t1'], lastParkedAt: NOW, parks: 1 });
    expect(await forgetParkedOrg(table, entry!)).toBe(false); // still parked
    await ackParked(table, await takeParked(table, corp, 10, { now: NOW }));
    await park(table, corp, aMessage(), 'quota_reached', NOW + 5);
    await ackParked(table, await takeParked(table, corp, 10, { now: NOW + 5 }));
    expect(await forgetParkedOrg(table, entry!)).toBe(false); // parked again since it was read
    const fresh = (await parkedOrgs(table)).find((o) => o.corpId === corp)!;
    expect(await forgetParkedOrg(table, fresh)).toBe(true);
    expect((await parkedOrgs(table)).some((o) => o.corpId === corp)).toBe(false);
  });

  it('are taken by exactly one of several concurrent instances', async () => {
    // given: 30 parked messages
    const corp = aCorp();
    const ids = Array.from({ length: 30 }, (_, i) => `msg-${String(i).padStart(2, '0')}`);
    await Promise.all(ids.map((id) => park(table, corp, aMessage(id), 'quota_reached', NOW)));
    // when: 6 instances each take up to 10 at the same time
    const takes = await Promise.all(Array.from({ length: 6 }, () => takeParked<{ id: string }>(table, corp, 10, { now: NOW })));
    // then: every message went to exactly one of them
    const taken = takes.flat().map((p) => p.message.id);
    expect(taken).toHaveLength(30);
    expect(new Set(taken).size).toBe(30);
    expect(takes.every((t) => t.length <= 10)).toBe(true);
    // and nothing is left to take while the leases hold; acknowledging removes them
    expect(await takeParked(table, corp, 10, { now: NOW + 1000 })).toEqual([]);
    expect(await Promise.all(takes.map((t) => ackParked(table, t)))).toEqual(takes.map((t) => t.length));
    expect(await countParked(table, corp)).toBe(0);
  });

  it('come back when the instance that took them died before acknowledging', async () => {
    const corp = aCorp();
    await park(table, corp, aMessage('lost-1'), 'quota_reached', NOW);
    // given: instance A takes it and dies
    const a = await takeParked(table, corp, 5, { now: NOW, leaseMs: 60_000 });
    expect(a).toHaveLength(1);
    // when the lease runs out, B takes it
    const b = await takeParked(table, corp, 5, { now: NOW + 60_001 });
    expect(b.map((p) => p.messageId)).toEqual(['lost-1']);
    // then a late acknowledgement by A leaves it to B
    expect(await ackParked(table, a)).toBe(0);
    expect(await ackParked(table, b)).toBe(1);
    expect(await listParked(table, corp)).toEqual([]);
  });

  it('take nothing when asked for nothing or when nothing is parked', async () => {
    const corp = aCorp();
    await park(table, corp, aMessage(), 'quota_reached', NOW);
    expect(await takeParked(table, corp, 0, { now: NOW })).toEqual([]);
    expect(await takeParked(table, aCorp(), 10, { now: NOW })).toEqual([]);
  });
});

describe('the usage report', () => {
  it('combines the counter, the forecast and the parked messages', async () => {
    // given: 8,400 of 10,000 calls used by 20 March 10:00 CST, 2 messages parked
    const corp = aCorp();
    await reserveCalls(table, corp, 8_400, { quota: 10_000 }, NOW);
    await park(table, corp, aMessage(), 'reserved_for_critical', NOW);
    await park(table, corp, aMessage(), 'reserved_for_critical', NOW);
    // when
    const report = await usageReport(table, { corpId: corp, quota: 10_000 }, NOW);
    // then: 8,400 in 19.42 days = 432.6 a day; 9,500 in 2.54 more days (22nd 23:00 CST), 10,000 in 3.7 (24th 02:48)
    expect(report).toMatchObject({
      month: '2031-03',
      used: 8_400,
      quota: 10_000,
      percent: 84,
      crossed: [80],
      reserve: 500,
      remaining: 1_600,
      exhausted: false,
      parked: 2,
      forecast: { callsPerDay: 432.6, reserveReachedOn: '2031-03-22', exhaustedOn: '2031-03-24' },
    });
    expect(formatUsage(report)).toContain('parked messages: 2');
  });
});
