/**
 * DingTalk's limit on a scene group's title: "at most 30 字符" (docs/dingtalk-api.md §5.1), which does
 * not say how characters are counted; read strictly as UTF-16 code units (an emoji counts 2).
 */
export const MAX_WAR_ROOM_TITLE_CHARS = 30;

const ELLIPSIS = '…';
const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** UTF-16 code units in `s` (`'😀'` counts 2): the strict reading of DingTalk's limit. */
export const titleUnits = (s: string): number => s.length;

/**
 * A group title of at most `max` UTF-16 units: whitespace runs (newlines included) become one
 * space; a longer title is cut between graphemes (an emoji or a sequence such as 👩‍💻 or a flag is
 * never split) and ends with "…".
 *
 * @example
 * clipWarRoomTitle('[P1] 支付服务错误率 > 5%，订单服务超时，数据库连接池耗尽，请立即处理') // '[P1] 支付服务错误率 > 5%，订单服务超时，数据库连…' (30 units)
 */
export function clipWarRoomTitle(title: string, max = MAX_WAR_ROOM_TITLE_CHARS): string {
  if (!(max >= 1)) throw new RangeError('max must be at least 1');
  const t = title.replace(/\s+/g, ' ').trim();
  if (titleUnits(t) <= max) return t;
  const budget = max - ELLIPSIS.length;
  let out = '';
  for (const { segment } of segmenter.segment(t)) {
    if (titleUnits(out) + titleUnits(segment) > budget) break;
    out += segment;
  }
  return `${out.trimEnd()}${ELLIPSIS}`;
}
