import { createHmac } from 'node:crypto';
import { readPress } from '../../../lib/press/readPress';
import { verifyPress } from '../../../lib/press/verify';

/** docs/dingtalk-api.md §9.4, computed here independently of the code. */
const sign = (secret: string, ts: string) => createHmac('sha256', secret).update(ts).digest('base64');
const NOW = 1_796_000_000_000;
const headers = (ts: string, sig: string) => ({ 'x-ddpaas-signature-timestamp': ts, 'x-ddpaas-signature': sig });

describe('verifyPress (the card callback signature)', () => {
  it('accepts the signature of the timestamp within 120 s, and returns the timestamp', () => {
    for (const skew of [0, -120_000, 120_000]) {
      const ts = String(NOW + skew);
      expect(verifyPress('s3cret', headers(ts, sign('s3cret', ts)), NOW)).toBe(ts);
    }
  });

  it.each([
    ['another secret', () => headers(String(NOW), sign('other', String(NOW))), /bad signature/],
    ['a signature of another timestamp', () => headers(String(NOW), sign('s3cret', String(NOW - 1))), /bad signature/],
    ['a truncated signature', () => headers(String(NOW), sign('s3cret', String(NOW)).slice(0, 20)), /bad signature/],
    ['no signature', () => ({ 'x-ddpaas-signature-timestamp': String(NOW) }), /missing x-ddpaas-signature header/],
    ['a timestamp in seconds', () => headers(String(NOW / 1000), sign('s3cret', String(NOW / 1000))), /window/],
    ['121 s old', () => headers(String(NOW - 121_000), sign('s3cret', String(NOW - 121_000))), /window/],
    ['not digits', () => headers('12e3', sign('s3cret', '12e3')), /milliseconds/],
  ])('refuses %s (401)', (_name, h, message) => {
    expect(() => verifyPress('s3cret', h(), NOW)).toThrow(expect.objectContaining({ status: 401, message: expect.stringMatching(message) }));
  });
});

describe('readPress (the press body)', () => {
  const body = (params: unknown, over: Record<string, unknown> = {}) =>
    JSON.stringify({ type: 'actionCallback', outTrackId: 'c0', corpId: 'ding1', userId: 'u1', content: JSON.stringify({ cardPrivateData: { actionIds: ['x'], params } }), ...over });

  it('reads the card, organisation, user and button; snooze minutes as digits or a number; `value` as the older name of `content`', () => {
    expect(readPress(body({ action: 'ack' }))).toEqual({ outTrackId: 'c0', corpId: 'ding1', userId: 'u1', action: 'ack' });
    expect(readPress(body({ action: 'snooze', minutes: '720' }))).toMatchObject({ action: 'snooze', minutes: 720 });
    expect(readPress(body({ action: 'snooze', minutes: 1 }))).toMatchObject({ minutes: 1 });
    const older = JSON.parse(body({ action: 'close' }));
    older.value = older.content;
    delete older.content;
    expect(readPress(JSON.stringify(older))).toMatchObject({ action: 'close' });
  });

  it.each([
    ['no body', undefined, /empty/],
    ['not JSON', '{', /not JSON/],
    ['another type', body({ action: 'ack' }, { type: 'other' }), /actionCallback/],
    ['no content', body({ action: 'ack' }, { content: 7 }), /content/],
    ['an unknown action', body({ action: 'delete' }), /params.action/],
    ['snooze without minutes', body({ action: 'snooze' }), /snooze minutes/],
    ['snooze for 0 minutes', body({ action: 'snooze', minutes: '0' }), /snooze minutes/],
    ['snooze past 24 h', body({ action: 'snooze', minutes: 1441 }), /snooze minutes/],
    ['snooze for 1.5 minutes', body({ action: 'snooze', minutes: 1.5 }), /snooze minutes/],
    ['no userId', body({ action: 'ack' }, { userId: '' }), /userId/],
  ])('refuses %s (400)', (_name, text, message) => {
    expect(() => readPress(text)).toThrow(expect.objectContaining({ status: 400, message: expect.stringMatching(message) }));
  });
});
