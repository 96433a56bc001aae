/** DingTalk's limit on a scene group's title, in characters (code points). */
export const MAX_WAR_ROOM_TITLE_CHARS = 30;

const ELLIPSIS = '…';
const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** Code points in `s` (what DingTalk counts; `'😀'.length` is 2, this counts 1). */
export const codePoints = (s: string): number => [...s].length;

/**
 * A group title of at most `max` code points: whitespace runs (newlines included) become one
 * space; a longer title is cut between graphemes (an emoji sequence such as 👩‍💻 or a flag is never
 * split) and ends with "…".
 *
 * @example
 * clipWarRoomTitle('[P1] 支付服务错误率 > 5%，订单服务超时，数据库连接池耗尽，请立即处理') // '[P1] 支付服务错误率 > 5%，订单服务超时，数据库连…' (30 code points)
 */
export function clipWarRoomTitle(title: string, max = MAX_WAR_ROOM_TITLE_CHARS): string {
  if (!(max >= 1)) throw new RangeError('max must be at least 1');
  const t = title.replace(/\s+/g, ' ').trim();
  if (codePoints(t) <= max) return t;
  const budget = max - 1; // room for the ellipsis
  let out = '';
  let used = 0;
  for (const { segment } of segmenter.segment(t)) {
    const n = codePoints(segment);
    if (used + n > budget) break;
    out += segment;
    used += n;
  }
  return `${out.trimEnd()}${ELLIPSIS}`;
}
