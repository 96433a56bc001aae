import { cardParams, clipBytes, statusParams, statusText } from '../../../lib/cards/params';
import { cardOutTrackId } from '../../../lib/cards/outTrackId';

describe('card values (docs/dingtalk-api.md §9.1: strings of at most 1 KB)', () => {
  it('leaves a value within the limit as it is', () => {
    expect(clipBytes('x'.repeat(1024))).toBe('x'.repeat(1024));
  });

  it('clips by UTF-8 bytes between characters, ending with "…"', () => {
    const cjk = clipBytes('告'.repeat(400)); // 1200 bytes
    expect(Buffer.byteLength(cjk)).toBeLessThanOrEqual(1024);
    expect(cjk).toBe(`${'告'.repeat(340)}…`); // 340 * 3 + 3 = 1023
    const emoji = clipBytes('😀'.repeat(300)); // 4 bytes each, two UTF-16 units
    expect(emoji).toBe(`${'😀'.repeat(255)}…`);
    expect(clipBytes('abcdef', 5)).toBe('ab…');
  });

  it('makes every value a string within the limit, and leaves out a URL too long to clip', () => {
    const params = cardParams({ title: 'T'.repeat(2000), markdown: '告'.repeat(2000), incidentUrl: `https://x.test/${'a'.repeat(1100)}` }, { status: 'triggered' }, ['ack']);
    for (const [k, v] of Object.entries(params)) expect([k, typeof v, Buffer.byteLength(v) <= 1024]).toEqual([k, 'string', true]);
    expect(params.incidentUrl).toBe('');
    expect(params.severity).toBe('');
  });
});

describe('the buttons follow the status (docs/two-way.md, "Cards")', () => {
  const all = ['ack', 'close', 'snooze'] as const;
  it.each([
    ['triggered', 'true', 'true', 'true'],
    ['acknowledged', 'false', 'true', 'true'],
    ['snoozed', 'false', 'true', 'true'],
    ['closed', 'false', 'false', 'false'],
  ] as const)('%s: ack %s, close %s, snooze %s', (status, showAck, showClose, showSnooze) => {
    expect(statusParams({ status }, all)).toMatchObject({ status, showAck, showClose, showSnooze });
  });

  it('shows only the buttons the message listed', () => {
    expect(statusParams({ status: 'triggered' }, ['close'])).toMatchObject({ showAck: 'false', showClose: 'true', showSnooze: 'false' });
  });

  it('says who acted, in the tenant language (Chinese by default)', () => {
    expect(statusText({ status: 'acknowledged', byName: '张三' }, 'en')).toBe('Acknowledged by 张三');
    expect(statusText({ status: 'acknowledged', byName: '张三' })).toBe('张三 已认领');
    expect(statusText({ status: 'closed' }, 'en')).toBe('Closed');
    expect(statusText({ status: 'snoozed', byName: 'Ann', snoozedUntil: '2026-12-01T04:00:00Z' }, 'en')).toBe('Snoozed until 2026-12-01 12:00 (UTC+8) by Ann');
    expect(statusText({ status: 'triggered' })).toBe('已触发');
  });
});

describe('outTrackId (docs/two-way.md, "Cards")', () => {
  it('is the same for the same message and recipient, at most 64 characters', () => {
    const id = cardOutTrackId('acme', 'page-1', 'user', 'u1');
    expect(id).toBe(cardOutTrackId('acme', 'page-1', 'user', 'u1'));
    expect(id).toMatch(/^dtb[0-9a-f]{37}$/);
  });

  it('differs by tenant, message, space and recipient', () => {
    const ids = [
      cardOutTrackId('acme', 'page-1', 'user', 'u1'),
      cardOutTrackId('acme2', 'page-1', 'user', 'u1'),
      cardOutTrackId('acme', 'page-2', 'user', 'u1'),
      cardOutTrackId('acme', 'page-1', 'group', 'u1'),
      cardOutTrackId('acme', 'page-1', 'user', 'u2'),
    ];
    expect(new Set(ids).size).toBe(ids.length);
  });
});
