import { quotaKey } from '../../../lib/contracts/tableKeys';
import { limitFor, reserveOf } from '../../../lib/quota/counter';
import { chinaDate, chinaMonth, monthStart } from '../../../lib/util/chinaTime';

describe('the quota month', () => {
  it('turns at 16:00 UTC on the last day of the month, i.e. 00:00 China time', () => {
    const turn = Date.parse('2026-01-31T16:00:00Z');
    expect(quotaKey('ding1', chinaMonth(turn - 1))).toEqual({ pk: 'ORG#ding1', sk: 'QUOTA#2026-01' });
    expect(quotaKey('ding1', chinaMonth(turn))).toEqual({ pk: 'ORG#ding1', sk: 'QUOTA#2026-02' });
  });

  it('turns the year on 31 December 16:00 UTC', () => {
    expect(chinaMonth(Date.parse('2026-12-31T15:59:59.999Z'))).toBe('2026-12');
    expect(chinaMonth(Date.parse('2026-12-31T16:00:00Z'))).toBe('2027-01');
  });

  it('starts at 00:00 CST on the 1st', () => {
    expect(monthStart('2026-03')).toBe(Date.parse('2026-02-28T16:00:00Z'));
    expect(monthStart('2027-01')).toBe(Date.parse('2026-12-31T16:00:00Z'));
    expect(() => monthStart('2026-13')).toThrow(RangeError);
  });

  it('dates instants in China time', () => {
    expect(chinaDate(Date.parse('2026-03-31T15:59:59Z'))).toBe('2026-03-31');
    expect(chinaDate(Date.parse('2026-03-31T16:00:00Z'))).toBe('2026-04-01');
  });
});

describe('the critical reserve', () => {
  it('is 5 % of the quota by default, rounded up', () => {
    expect(reserveOf(10_000)).toBe(500);
    expect(reserveOf(5_001)).toBe(251);
    expect(reserveOf(10_000, 0)).toBe(0);
    expect(() => reserveOf(10, 101)).toThrow(RangeError);
  });

  it('is out of reach for non-critical messages only', () => {
    expect(limitFor({ quota: 10_000 })).toBe(9_500);
    expect(limitFor({ quota: 10_000, severity: 'warning' })).toBe(9_500);
    expect(limitFor({ quota: 10_000, severity: 'critical' })).toBe(10_000);
    expect(limitFor({ quota: 500_000, reservePercent: 10, severity: 'info' })).toBe(450_000);
  });
});
