import { clipWarRoomTitle, codePoints, MAX_WAR_ROOM_TITLE_CHARS } from '../../../lib/warroom/title';

describe('a war room title fits DingTalk (30 characters, counted in code points)', () => {
  it('a short title is kept as it is', () => {
    expect(clipWarRoomTitle('[P1] 支付服务错误率 > 5%')).toBe('[P1] 支付服务错误率 > 5%');
  });

  it('exactly 30 Chinese characters are kept whole', () => {
    const title = '支'.repeat(30);
    expect(clipWarRoomTitle(title)).toBe(title);
  });

  it('a long Chinese title is cut to 30 code points and ends with an ellipsis', () => {
    // given
    const title = '[P1] 支付服务错误率超过百分之五，订单服务超时，数据库连接池耗尽，请立即处理';
    // when
    const clipped = clipWarRoomTitle(title);
    // then
    expect(codePoints(clipped)).toBe(MAX_WAR_ROOM_TITLE_CHARS);
    expect(clipped.endsWith('…')).toBe(true);
    expect(title.startsWith(clipped.slice(0, -1))).toBe(true);
  });

  it('emoji count as one character each, not as two UTF-16 units', () => {
    // given: 30 emoji are 60 UTF-16 units but 30 code points
    const thirty = '🔥'.repeat(30);
    // then
    expect(thirty.length).toBe(60);
    expect(clipWarRoomTitle(thirty)).toBe(thirty);
    const clipped = clipWarRoomTitle('🔥'.repeat(31));
    expect(clipped).toBe(`${'🔥'.repeat(29)}…`);
    expect(clipped).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/); // no lone high surrogate
  });

  it('an emoji sequence (👩‍💻, a flag) is never split in half', () => {
    // given: 26 characters, then 👩‍💻 (3 code points), then more
    const title = `${'告'.repeat(26)}👩‍💻🇨🇳 数据库`;
    // when
    const clipped = clipWarRoomTitle(title);
    // then: 👩‍💻 would end at code point 29 + the ellipsis = 30: kept; the flag does not fit
    expect(clipped).toBe(`${'告'.repeat(26)}👩‍💻…`);
    expect(codePoints(clipped)).toBeLessThanOrEqual(30);
    // and with one more character before it, the whole sequence goes
    expect(clipWarRoomTitle(`${'告'.repeat(27)}👩‍💻🇨🇳 数据库`)).toBe(`${'告'.repeat(27)}…`);
  });

  it('newlines and runs of spaces become one space', () => {
    expect(clipWarRoomTitle('  DB down\n\n  on   prod  ')).toBe('DB down on prod');
  });

  it('another limit may be given', () => {
    expect(clipWarRoomTitle('abcdef', 4)).toBe('abc…');
    expect(() => clipWarRoomTitle('abc', 0)).toThrow(RangeError);
  });
});
