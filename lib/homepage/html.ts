/**
 * A tiny HTML template helper: interpolated values are escaped unless they are {@link SafeHtml}
 * (the output of another `html` template or of {@link raw}). Escaping is the default, so a group
 * title like `<script>` can only ever render as text.
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Escapes text for an HTML text node or a quoted attribute value.
 *
 * @example
 * escapeHtml('<b title="x">') // '&lt;b title=&quot;x&quot;&gt;'
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** Markup that is already safe: produced by {@link html} or {@link raw}. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** A value `html` accepts: text (escaped), numbers, safe markup, lists of those; null/undefined/false render nothing. */
export type Interpolation = SafeHtml | string | number | boolean | null | undefined | readonly Interpolation[];

const render = (v: Interpolation): string => {
  if (v === null || v === undefined || v === false || v === true) return '';
  if (v instanceof SafeHtml) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(String(v));
};

/**
 * Tagged template: the literal parts are trusted markup, every `${value}` is escaped.
 *
 * @example
 * html`<li>${group.title}</li>` // a title '<script>' becomes '&lt;script&gt;'
 */
export function html(strings: TemplateStringsArray, ...values: Interpolation[]): SafeHtml {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new SafeHtml(out);
}

/** Trusted markup from a constant (the stylesheet, an entity); never pass request data. */
export const raw = (markup: string): SafeHtml => new SafeHtml(markup);
