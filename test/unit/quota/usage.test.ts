import { callsPerDay, reachedAt } from '../../../lib/quota/forecast';
import { buildReport, formatUsage } from '../../../lib/quota/usage';

const APRIL_START = Date.parse('2026-03-31T16:00:00Z');
const DAY = 86_400_000;

describe('the exhaustion forecast', () => {
  it('extrapolates the month-to-date rate linearly', () => {
    const now = APRIL_START + 6 * DAY;
    expect(callsPerDay(3000, now)).toBe(500);
    expect(reachedAt(3000, 10_000, now)).toBe(APRIL_START + 20 * DAY);
  });

  it('is none when the month ends first', () => {
    expect(reachedAt(100, 10_000, APRIL_START + 10 * DAY)).toBeUndefined();
  });

  it('is none before the first call', () => {
    expect(reachedAt(0, 10_000, APRIL_START + DAY)).toBeUndefined();
    expect(reachedAt(0, 10_000, APRIL_START)).toBeUndefined();
  });

  it('is now when the limit is already reached', () => {
    expect(reachedAt(10_000, 10_000, APRIL_START + DAY)).toBe(APRIL_START + DAY);
  });
});

describe('the usage report', () => {
  const report = (used: number, over: Partial<Parameters<typeof buildReport>[0]> = {}) =>
    buildReport({ corpId: 'ding1', month: '2026-04', quota: 10_000, used, parked: 0, now: APRIL_START + 15 * DAY, ...over });

  it('shows no threshold below 80 %', () => {
    const r = report(7_999);
    expect(r.percent).toBe(80);
    expect(r.crossed).toEqual([80]);
    expect(report(7_900).crossed).toEqual([]);
  });

  it('flags 80 % and 95 % once crossed', () => {
    expect(report(9_500).crossed).toEqual([80, 95]);
    expect(report(10_000).percent).toBe(100);
  });

  it('gives the reserve, the remaining calls and both forecast dates in China time', () => {
    // 8,250 calls in 15 days = 550 a day: 9,500 after 17.27 days, 10,000 after 18.18 days
    const r = report(8_250);
    expect(r).toMatchObject({ reserve: 500, remaining: 1_750, forecast: { callsPerDay: 550, reserveReachedOn: '2026-04-18', exhaustedOn: '2026-04-19' } });
  });

  it('says exhausted today when DingTalk said so', () => {
    const r = report(9_000, { exhausted: true });
    expect(r.exhausted).toBe(true);
    expect(r.forecast.exhaustedOn).toBe('2026-04-16');
  });

  it('prints readable lines with the parked count', () => {
    const text = formatUsage(report(9_600, { parked: 7 }));
    expect(text).toContain('ding1 2026-04: 9600 / 10000 calls (96%), 400 left, reserve 500 for critical');
    expect(text).toContain('thresholds crossed: 80%, 95%');
    expect(text).toContain('parked messages: 7');
  });
});
