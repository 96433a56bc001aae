import { chinaMinute } from '../util/chinaTime';
import { html, raw, type SafeHtml } from './html';
import { setupSteps } from './steps';
import { STYLE } from './style';
import type { GroupView, HomeStatus, OrgView, Page, UsageView } from './types';

/**
 * The homepage as HTML: pure functions of the view model, every value escaped by `html`.
 * No scripts; one inline stylesheet (allowed by hash).
 */

const EDITION_NAMES: Record<OrgView['edition'], string> = { standard: 'Standard', professional: 'Professional', exclusive: 'Exclusive' };
const number = new Intl.NumberFormat('en-US');

/**
 * An instant in China Standard Time, minutes precision.
 *
 * @example
 * chinaTime(Date.parse('2025-06-01T00:30:00Z')) // '2025-06-01 08:30 (UTC+8)'
 */
export function chinaTime(ms: number): string {
  return `${chinaMinute(ms)} (UTC+8)`;
}

/** A whole HTML document around `body`. */
export function layout(title: string, body: SafeHtml): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex, nofollow"><meta name="referrer" content="no-referrer"><link rel="icon" href="data:,"><title>${title}</title><style>${raw(STYLE)}</style></head>
<body><main>${body}</main></body></html>
`.value;
}

const header = (title: string) => html`<header><p class="brand">Flashduty × DingTalk</p><h1>${title}</h1></header>`;

const plural = (n: number, one: string, many: string) => `${number.format(n)} ${n === 1 ? one : many}`;

function statusPanel(s: HomeStatus): SafeHtml {
  if (s.state === 'linked') {
    const n = s.groups.length + s.moreGroups;
    const cool = n
      ? html`<p>Cool app installed in <strong>${plural(n, 'group', 'groups')}</strong>.</p>`
      : html`<p class="warn">Cool app not installed in any group yet: add it to a group chat so alerts can reach it.</p>`;
    return html`<section class="status ok" aria-live="polite"><p class="badge">Linked</p>
<p>This DingTalk app is linked to Flashduty integration <code>${s.tenantId}</code>.</p>${cool}</section>`;
  }
  if (s.state === 'corp_mismatch') {
    return html`<section class="status bad"><p class="badge">App not linked</p>
<p>This DingTalk organisation (<code>${s.requestCorpId}</code>) is not the one linked to Flashduty integration <code>${s.tenantId}</code>, which is linked to <code>${s.org?.corpId}</code>.</p>
<p>If this organisation should receive the alerts, put its CorpId and its app's credentials in the Flashduty integration (steps below).</p></section>`;
  }
  return html`<section class="status bad"><p class="badge">App not linked</p>
<p>No Flashduty integration <code>${s.tenantId}</code> is linked here: the integration was never saved, was deleted, or the homepage URL is wrong.</p>
<p>Follow the steps below, then open this page again from DingTalk.</p></section>`;
}

function orgPanel(org: OrgView): SafeHtml {
  return html`<section><h2>Organisation</h2><dl>
<dt>CorpId</dt><dd><code>${org.corpId}</code></dd>
<dt>Edition</dt><dd>${EDITION_NAMES[org.edition]}</dd>
<dt>Client ID</dt><dd><code>${org.clientId}</code></dd>
<dt>AgentId</dt><dd><code>${org.agentId}</code></dd>
<dt>Limits</dt><dd>${number.format(org.monthlyQuota)} calls/month, ${number.format(org.qps)} QPS</dd>
</dl></section>`;
}

function forecastLine(u: UsageView): SafeHtml {
  const f = u.forecast;
  if (u.used === 0) return html`<p class="muted">No calls counted yet this month.</p>`;
  const rate = html`At about ${number.format(Math.round(f.callsPerDay))} calls a day`;
  if (f.exhaustedOn) {
    return html`<p class="warn">${rate} the quota runs out on ${f.exhaustedOn}${f.reserveReachedOn && f.reserveReachedOn !== f.exhaustedOn ? html`; non-critical alerts stop on ${f.reserveReachedOn}` : ''}.</p>`;
  }
  if (f.reserveReachedOn) return html`<p class="warn">${rate} non-critical alerts stop on ${f.reserveReachedOn}; critical ones still use the reserve.</p>`;
  return html`<p class="muted">${rate} the quota lasts the month.</p>`;
}

function usagePanel(u: UsageView): SafeHtml {
  const max = Math.max(u.quota, 1);
  const pct = `${u.percent.toFixed(1)}%`;
  return html`<section><h2>Usage in ${u.month}</h2>
<p class="figure">${number.format(u.used)} / ${number.format(u.quota)} calls · ${pct}</p>
<meter min="0" max="${max}" low="${max - u.reserve}" high="${max - Math.ceil(u.reserve / 2)}" optimum="0" value="${Math.min(u.used, max)}" aria-label="calls used this month">${pct}</meter>
<p>${number.format(u.remaining)} left, of which ${number.format(u.reserve)} are kept for critical alerts.</p>
${u.exhausted ? html`<p class="warn">DingTalk reported the monthly quota as used up: messages are held until the 1st.</p>` : ''}
${u.observedLimit !== undefined ? html`<p class="warn">DingTalk's limit for this organisation is ${number.format(u.observedLimit)} calls, below the configured ${number.format(u.quota)}: set the tenant's monthlyQuota to ${number.format(u.observedLimit)}.</p>` : ''}
${forecastLine(u)}
${u.parked ? html`<p class="warn">${plural(u.parked, 'message is', 'messages are')} parked until the quota resets.</p>` : ''}
<p class="muted">Counted per organisation (CorpId); resets on the 1st, 00:00 China time.</p></section>`;
}

const shortId = (id: string) => (id.length > 12 ? `${id.slice(0, 10)}…` : id);

const groupItem = (g: GroupView) =>
  html`<li><span class="title">${g.title || html`Unnamed group <code>${shortId(g.openConversationId)}</code>`}</span><span class="muted">${g.installedAt ? `since ${chinaTime(g.installedAt)}` : 'install time unknown'}</span></li>`;

function groupsPanel(s: HomeStatus): SafeHtml {
  const body = s.groups.length
    ? html`<ul class="groups">${s.groups.map(groupItem)}</ul>${s.moreGroups ? html`<p class="muted">and ${plural(s.moreGroups, 'more group', 'more groups')}.</p>` : ''}`
    : html`<p class="muted">None yet. In a DingTalk group chat, add this app's cool app; the group appears here once DingTalk reports the install.</p>`;
  return html`<section><h2>Groups with the cool app</h2>${body}</section>`;
}

function stepsPanel(s: HomeStatus): SafeHtml {
  // An unknown tenant id may be a typo in the homepage URL: do not suggest URLs built from it.
  const list = html`<ol class="steps">${setupSteps(s.state === 'unknown_tenant' ? undefined : s.urls).map((step) => html`<li>${step}</li>`)}</ol>`;
  return s.state === 'linked'
    ? html`<section><details><summary>Setup checklist</summary>${list}</details></section>`
    : html`<section><h2>Fix “app not linked”</h2>${list}</section>`;
}

/**
 * The status page for `s`: 200 when the tenant exists (linked, or opened from another
 * organisation), 404 with the setup steps when it does not.
 *
 * @example
 * const page = renderHome(buildStatus({ tenantId, now }, tenant, groups, usage));
 */
export function renderHome(s: HomeStatus): Page {
  const linked = s.state === 'linked';
  const title = linked ? 'DingTalk integration status' : 'DingTalk app not linked';
  const body = html`${header(title)}${statusPanel(s)}
${linked && s.org ? html`<div class="cols">${orgPanel(s.org)}${s.usage ? usagePanel(s.usage) : ''}</div>${groupsPanel(s)}` : ''}
${stepsPanel(s)}
<footer>Updated ${chinaTime(s.now)}</footer>`;
  return { statusCode: s.state === 'unknown_tenant' ? 404 : 200, html: layout(`${title} · Flashduty`, body) };
}

/**
 * A small error page: the status and a safe public message, never internals.
 *
 * @example
 * renderError(500, 'Something went wrong. Try again in a minute.')
 */
export function renderError(statusCode: number, message: string): Page {
  const body = html`${header('Something went wrong')}<section class="status bad"><p class="badge">Error ${statusCode}</p><p>${message}</p><p class="muted">Reload the page in a minute. If it keeps failing, contact your Flashduty administrator.</p></section>`;
  return { statusCode, html: layout('Error · Flashduty', body) };
}
