import type { NotifyContent } from '../contracts/notifyMessage';
import { messagesFor, type Locale } from '../i18n';

/** DingTalk's group msgParam limit (bytes of the JSON string); the same safe limit is used for DMs. */
export const MAX_MSG_PARAM_BYTES = 15_000;

export interface RenderedMessage {
  msgKey: 'sampleMarkdown' | 'sampleActionCard' | `sampleActionCard${2 | 3 | 4 | 5}`;
  /** The JSON string DingTalk expects in `msgParam`. */
  msgParam: string;
  /** UTF-8 bytes of msgParam. */
  bytes: number;
  truncated: boolean;
}

export interface RenderOptions {
  maxBytes?: number;
  /** The tenant's locale: the language of the "View in Flashduty" link appended to a truncated body and of the button for a lone `url` (default zh-CN). */
  locale?: Locale;
}

/** Bytes a code point takes inside a JSON string literal, UTF-8 encoded (as JSON.stringify writes it). */
function jsonBytes(ch: string): number {
  const cp = ch.codePointAt(0)!;
  if (ch === '"' || ch === '\\' || ch === '\b' || ch === '\f' || ch === '\n' || ch === '\r' || ch === '\t') return 2;
  if (cp < 0x20) return 6; // \u00XX
  if (cp < 0x80) return 1;
  if (cp < 0x800) return 2;
  if (cp >= 0xd800 && cp <= 0xdfff) return 6; // a lone surrogate is escaped as \uDXXX
  if (cp < 0x10000) return 3;
  return 4;
}

const jsonStringBytes = (s: string): number => Buffer.byteLength(JSON.stringify(s), 'utf8') - 2;

/**
 * The longest prefix of `text` whose JSON-escaped UTF-8 form fits in `maxBytes`, cut between code
 * points (a multi-byte character, e.g. Chinese or an emoji, is never split).
 *
 * @example
 * truncateForJson('告警告警', 7) // '告警' (each character is 3 bytes)
 */
export function truncateForJson(text: string, maxBytes: number): string {
  let used = 0;
  let end = 0;
  for (const ch of text) {
    const b = jsonBytes(ch);
    if (used + b > maxBytes) break;
    used += b;
    end += ch.length;
  }
  return text.slice(0, end);
}

/** Odd number of ``` fence lines: the cut fell inside a code block. */
const insideCodeFence = (text: string): boolean => (text.match(/^ {0,3}```/gm)?.length ?? 0) % 2 === 1;

function shape(content: NotifyContent, text: string, viewLabel: string): { msgKey: RenderedMessage['msgKey']; param: Record<string, string> } {
  const { title } = content;
  const buttons = content.buttons ?? [];
  if (buttons.length >= 2) {
    const param: Record<string, string> = { title, text };
    buttons.forEach((b, i) => {
      param[`actionTitle${i + 1}`] = b.title;
      param[`actionURL${i + 1}`] = b.url;
    });
    return { msgKey: `sampleActionCard${buttons.length as 2 | 3 | 4 | 5}`, param };
  }
  if (buttons.length === 1) return { msgKey: 'sampleActionCard', param: { title, text, singleTitle: buttons[0].title, singleURL: buttons[0].url } };
  if (content.url) return { msgKey: 'sampleActionCard', param: { title, text, singleTitle: viewLabel, singleURL: content.url } };
  return { msgKey: 'sampleMarkdown', param: { title, text } };
}

/**
 * Renders a notify message as a DingTalk robot message: `sampleMarkdown` (no link), `sampleActionCard`
 * (one button, or the `url` as a "View in Flashduty" button in the tenant's locale) or `sampleActionCard2..5` (2-5
 * buttons). A body too large for {@link MAX_MSG_PARAM_BYTES} is cut at a character boundary (a
 * code block left open is closed) and ends with "…" and a link to `url` (or the first button),
 * instead of failing.
 *
 * @example
 * render({ title: 'DB down', markdown: '## DB down', url: 'https://flashduty.com/i/1' }, { locale: 'en' })
 * // { msgKey: 'sampleActionCard', msgParam: '{"title":"DB down","text":"## DB down","singleTitle":"View in Flashduty",...}', ... }
 */
export function render(content: NotifyContent, opts: RenderOptions = {}): RenderedMessage {
  const max = opts.maxBytes ?? MAX_MSG_PARAM_BYTES;
  const label = messagesFor(opts.locale).message.viewInFlashduty;
  const build = (text: string) => {
    const { msgKey, param } = shape(content, text, label);
    const msgParam = JSON.stringify(param);
    return { msgKey, msgParam, bytes: Buffer.byteLength(msgParam, 'utf8') };
  };
  const full = build(content.markdown);
  if (full.bytes <= max) return { ...full, truncated: false };

  const link = content.url ?? content.buttons?.[0]?.url;
  const suffix = link ? `\n\n…\n\n[${label}](${link})` : '\n\n…';
  const fence = '\n```';
  const fixed = build('').bytes + jsonStringBytes(suffix) + jsonStringBytes(fence);
  let budget = Math.max(0, max - fixed);
  for (;;) {
    const kept = truncateForJson(content.markdown, budget);
    const out = build(`${kept}${insideCodeFence(kept) ? fence : ''}${suffix}`);
    if (out.bytes <= max || budget === 0) return { ...out, truncated: true };
    budget = Math.max(0, budget - (out.bytes - max)); // only if the estimate was off; never expected
  }
}
