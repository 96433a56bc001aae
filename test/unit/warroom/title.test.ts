import { clipWarRoomTitle, MAX_WAR_ROOM_TITLE_CHARS, titleUnits } from '../../../lib/warroom/title';

describe('a war room title fits DingTalk (30 characters, read strictly as UTF-16 units)', () => {
  it('a short title is kept as it is', () => {
    expect(clipWarRoomTitle('[P1] 支付服务错误率 > 5%')).toBe('[P1] 支付服务错误率 > 5%');
  });

  it('exactly 30 Chinese characters are kept whole', () => {
    const title = '支'.repeat(30);
    expect(clipWarRoomTitle(title)).toBe(title);
  });

  it('a long Chinese title is cut to 30 characters and ends with an ellipsis', () => {
    // given
    const title = '[P1] 支付服务错误率超过百分之五，订单服务超时，数据库连接池耗尽，请立即处理';
    // when
    const clipped = clipWarRoomTitle(title);
    // then
    expect(titleUnits(clipped)).toBe(MAX_WAR_ROOM_TITLE_CHARS);
    expect(clipped.endsWith('…')).toBe(true);
    expect(title.startsWith(clipped.slice(0, -1))).toBe(true);
  });

  it('an emoji counts as two (UTF-16 units), and is never cut in half', () => {
    // given: 15 emoji are 30 UTF-16 units
    const fifteen = '🔥'.repeat(15);
    expect(clipWarRoomTitle(fifteen)).toBe(fifteen);
    const clipped = clipWarRoomTitle('🔥'.repeat(16));
    expect(clipped).toBe(`${'🔥'.repeat(14)}…`);
    expect(titleUnits(clipped)).toBe(29);
    expect(clipped).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/); // no lone high surrogate
  });

  it('an emoji sequence (👩‍💻, a flag) is never split in half', () => {
    // given: 24 characters, then 👩‍💻 (5 UTF-16 units), then more
    const title = `${'告'.repeat(24)}👩‍💻🇨🇳 数据库`;
    // when
    const clipped = clipWarRoomTitle(title);
    // then: 👩‍💻 ends at unit 29 + the ellipsis = 30: kept; the flag does not fit
    expect(clipped).toBe(`${'告'.repeat(24)}👩‍💻…`);
    expect(titleUnits(clipped)).toBeLessThanOrEqual(30);
    // and with one more character before it, the whole sequence goes
    expect(clipWarRoomTitle(`${'告'.repeat(25)}👩‍💻🇨🇳 数据库`)).toBe(`${'告'.repeat(25)}…`);
  });

  it('newlines and runs of spaces become one space', () => {
    expect(clipWarRoomTitle('  DB down\n\n  on   prod  ')).toBe('DB down on prod');
  });

  it('another limit may be given', () => {
    expect(clipWarRoomTitle('abcdef', 4)).toBe('abc…');
    expect(() => clipWarRoomTitle('abc', 0)).toThrow(RangeError);
  });
});
