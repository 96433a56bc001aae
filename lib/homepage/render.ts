import { messagesFor, type Locale, type Messages } from '../i18n';
import { chinaMinute } from '../util/chinaTime';
import { html, raw, type SafeHtml } from './html';
import { setupSteps } from './steps';
import { STYLE } from './style';
import { GROUPS_READ, type GroupView, type HomeStatus, type OrgView, type Page, type UsageView } from './types';

/**
 * The homepage as HTML: pure functions of the view model and the viewer's language, every value
 * escaped by `html`, every word from lib/i18n. No scripts; one inline stylesheet (allowed by hash).
 */

type Home = Messages['home'];

/**
 * An instant in China Standard Time, minutes precision, marked as China time in `locale`.
 *
 * @example
 * chinaTime(Date.parse('2025-06-01T00:30:00Z'))          // '2025-06-01 08:30 (UTC+8)'
 * chinaTime(Date.parse('2025-06-01T00:30:00Z'), 'zh-CN') // '2025-06-01 08:30（北京时间）'
 */
export function chinaTime(ms: number, locale: Locale = 'en'): string {
  return messagesFor(locale).home.time(chinaMinute(ms));
}

/** A whole HTML document in `locale` around `body`. */
export function layout(title: string, body: SafeHtml, locale: Locale): string {
  return html`<!doctype html>
<html lang="${locale}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex, nofollow"><meta name="referrer" content="no-referrer"><link rel="icon" href="data:,"><title>${title}</title><style>${raw(STYLE)}</style></head>
<body><main>${body}</main></body></html>
`.value;
}

const header = (t: Home, title: string) => html`<header><p class="brand">${t.brand}</p><h1>${title}</h1></header>`;

function statusPanel(t: Home, s: HomeStatus, linkHint: string): SafeHtml {
  if (s.state === 'linked') {
    const n = s.groups.length + s.moreGroups;
    const cool = n ? html`<p>${t.coolInstalled(n)}</p>` : html`<p class="warn">${t.coolNone}</p>`;
    // Members link their own account from the link Flashduty sends them (docs/two-way.md, "Linking").
    return html`<section class="status ok" aria-live="polite"><p class="badge">${t.badgeLinked}</p>
<p>${t.linkedTo(s.tenantId)}</p>${cool}<p class="muted">${linkHint}</p></section>`;
  }
  if (s.state === 'corp_mismatch') {
    return html`<section class="status bad"><p class="badge">${t.badgeNotLinked}</p>
<p>${t.mismatch(s.requestCorpId ?? '', s.tenantId, s.org?.corpId ?? '')}</p>
<p>${t.mismatchFix}</p></section>`;
  }
  return html`<section class="status bad"><p class="badge">${t.badgeNotLinked}</p>
<p>${t.unknown(s.tenantId)}</p>
<p>${t.unknownFix}</p></section>`;
}

function orgPanel(t: Home, org: OrgView): SafeHtml {
  return html`<section><h2>${t.org.heading}</h2><dl>
<dt>CorpId</dt><dd><code>${org.corpId}</code></dd>
<dt>${t.org.edition}</dt><dd>${t.org.editions[org.edition]}</dd>
<dt>Client ID</dt><dd><code>${org.clientId}</code></dd>
<dt>AgentId</dt><dd><code>${org.agentId}</code></dd>
<dt>${t.org.limits}</dt><dd>${t.org.limitsValue(org.monthlyQuota, org.qps)}</dd>
</dl></section>`;
}

function forecastLine(t: Home, u: UsageView): SafeHtml {
  const f = u.forecast;
  if (u.used === 0) return html`<p class="muted">${t.forecast.none}</p>`;
  if (f.exhaustedOn) {
    const reserveOn = f.reserveReachedOn && f.reserveReachedOn !== f.exhaustedOn ? f.reserveReachedOn : undefined;
    return html`<p class="warn">${t.forecast.runsOut(f.callsPerDay, f.exhaustedOn, reserveOn)}</p>`;
  }
  if (f.reserveReachedOn) return html`<p class="warn">${t.forecast.reserveReached(f.callsPerDay, f.reserveReachedOn)}</p>`;
  return html`<p class="muted">${t.forecast.lasts(f.callsPerDay)}</p>`;
}

function usagePanel(t: Home, u: UsageView): SafeHtml {
  const max = Math.max(u.quota, 1);
  const pct = `${u.percent.toFixed(1)}%`;
  return html`<section><h2>${t.usage.heading(u.month)}</h2>
<p class="figure">${t.usage.figure(u.used, u.quota, pct)}</p>
<meter min="0" max="${max}" low="${max - u.reserve}" high="${max - Math.ceil(u.reserve / 2)}" optimum="0" value="${Math.min(u.used, max)}" aria-label="${t.usage.meterLabel}">${pct}</meter>
<p>${t.usage.remaining(u.remaining, u.reserve)}</p>
${u.exhausted ? html`<p class="warn">${t.usage.exhausted}</p>` : ''}
${u.observedLimit !== undefined ? html`<p class="warn">${t.usage.observed(u.observedLimit, u.quota)}</p>` : ''}
${forecastLine(t, u)}
${u.parked ? html`<p class="warn">${t.usage.parked(u.parked)}</p>` : ''}
<p class="muted">${t.usage.note}</p></section>`;
}

const shortId = (id: string) => (id.length > 12 ? `${id.slice(0, 10)}…` : id);

function groupsPanel(t: Home, s: HomeStatus, locale: Locale): SafeHtml {
  const item = (g: GroupView) =>
    html`<li><span class="title">${g.title || t.groups.unnamed(shortId(g.openConversationId))}</span><span class="muted">${g.installedAt ? t.groups.since(chinaTime(g.installedAt, locale)) : t.groups.sinceUnknown}</span></li>`;
  const body = s.groups.length
    ? html`<ul class="groups">${s.groups.map(item)}</ul>${s.moreGroups ? html`<p class="muted">${t.groups.more(s.moreGroups)}</p>` : ''}${s.moreUnread ? html`<p class="muted">${t.groups.moreUnread(GROUPS_READ)}</p>` : ''}`
    : html`<p class="muted">${t.groups.none}</p>`;
  return html`<section><h2>${t.groups.heading}</h2>${body}</section>`;
}

function stepsPanel(t: Home, s: HomeStatus, locale: Locale): SafeHtml {
  // An unknown tenant id may be a typo in the homepage URL: do not suggest URLs built from it.
  const list = html`<ol class="steps">${setupSteps(s.state === 'unknown_tenant' ? undefined : s.urls, locale).map((step) => html`<li>${step}</li>`)}</ol>`;
  return s.state === 'linked'
    ? html`<section><details><summary>${t.steps.checklist}</summary>${list}</details></section>`
    : html`<section><h2>${t.steps.fixHeading}</h2>${list}</section>`;
}

/**
 * The status page for `s` in `locale`: 200 when the tenant exists (linked, or opened from another
 * organisation), 404 with the setup steps when it does not.
 *
 * @example
 * const page = renderHome(buildStatus({ tenantId, now }, tenant, groups, usage), negotiateLocale(acceptLanguage));
 */
export function renderHome(s: HomeStatus, locale: Locale = 'en'): Page {
  const t = messagesFor(locale).home;
  const linked = s.state === 'linked';
  const title = linked ? t.titleLinked : t.titleNotLinked;
  const body = html`${header(t, title)}${statusPanel(t, s, messagesFor(locale).link.homeHint)}
${linked && s.org ? html`<div class="cols">${orgPanel(t, s.org)}${s.usage ? usagePanel(t, s.usage) : ''}</div>${groupsPanel(t, s, locale)}` : ''}
${stepsPanel(t, s, locale)}
<footer>${t.updated(chinaTime(s.now, locale))}</footer>`;
  return { statusCode: s.state === 'unknown_tenant' ? 404 : 200, lang: locale, html: layout(`${title} · Flashduty`, body, locale) };
}

/**
 * A small error page in `locale`: the status and a safe public message (the generic one when
 * none is given), never internals.
 *
 * @example
 * renderError(500, undefined, 'zh-CN') // '无法加载状态页。'
 */
export function renderError(statusCode: number, message: string | undefined, locale: Locale = 'en'): Page {
  const t = messagesFor(locale).home;
  const body = html`${header(t, t.error.heading)}<section class="status bad"><p class="badge">${t.error.badge(statusCode)}</p><p>${message ?? t.error.loadFailed}</p><p class="muted">${t.error.retry}</p></section>`;
  return { statusCode, lang: locale, html: layout(`${t.error.title} · Flashduty`, body, locale) };
}
