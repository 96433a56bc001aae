import { en, type Messages } from './en';
import { DEFAULT_LOCALE, type Locale } from './locale';
import { zhCN } from './zh-CN';

export { en, type Messages, type StepValues } from './en';
export { DEFAULT_LOCALE, LOCALES, negotiateLocale, type Locale } from './locale';
export { zhCN } from './zh-CN';

const CATALOGS: Record<Locale, Messages> = { 'zh-CN': zhCN, en };

/**
 * The texts of `locale`; no locale (a tenant record that sets none) is {@link DEFAULT_LOCALE}.
 *
 * @example
 * messagesFor(tenant.locale).message.viewInFlashduty // '在 Flashduty 中查看'
 */
export function messagesFor(locale: Locale = DEFAULT_LOCALE): Messages {
  return CATALOGS[locale];
}
