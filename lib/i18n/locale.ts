/** The languages the bridge writes: Simplified Chinese and English. */
export const LOCALES = ['zh-CN', 'en'] as const;

export type Locale = (typeof LOCALES)[number];

/** A tenant's locale when its record sets none: most DingTalk organisations read Chinese. */
export const DEFAULT_LOCALE: Locale = 'zh-CN';

/** Longest Accept-Language header read; the rest is ignored. */
const MAX_HEADER = 1024;

/**
 * The page language for an `Accept-Language` header: the language ranges are taken in the
 * viewer's order of preference (q-value, then position; `q=0` means "not this one"), and the first
 * we write wins. Any Chinese (`zh`, `zh-CN`, `zh-Hans`, also `zh-TW` / `zh-Hant`: a reader of
 * Traditional Chinese reads Simplified Chinese better than English) gets `zh-CN`; any English
 * gets `en`; no header, `*`, or only other languages get `en`.
 *
 * @example
 * negotiateLocale('zh-CN,zh;q=0.9,en;q=0.8') // 'zh-CN'
 * negotiateLocale('en;q=0.5, zh-TW;q=0.8')   // 'zh-CN'
 * negotiateLocale('fr-FR, en;q=0.7')         // 'en'
 */
export function negotiateLocale(acceptLanguage: string | undefined): Locale {
  const ranges = (acceptLanguage ?? '')
    .slice(0, MAX_HEADER)
    .split(',')
    .map((part, position) => {
      const [tag, ...params] = part.trim().toLowerCase().split(';');
      const qParams = params.filter((p) => /^\s*q\s*=/.test(p));
      const q = qParams.map((p) => /^\s*q\s*=\s*([01](\.\d{0,3})?)\s*$/.exec(p)).find(Boolean);
      // A malformed q (`q=.9`, `q=x`) drops the range rather than ranking it first.
      return { primary: tag.trim().split('-')[0], q: q ? Number(q[1]) : qParams.length ? 0 : 1, position };
    })
    .filter((r) => r.q > 0 && r.q <= 1)
    .sort((a, b) => b.q - a.q || a.position - b.position);
  const best = ranges.find((r) => r.primary === 'zh' || r.primary === 'en');
  return best?.primary === 'zh' ? 'zh-CN' : 'en';
}
