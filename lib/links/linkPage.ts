import { createHash } from 'node:crypto';
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { chinaTime, html, htmlErrors, htmlResponse, layout, raw, renderError, STYLE_HASH, type Page } from '../homepage';
import { httpErrors, type HttpResult } from '../http/json';
import { messagesFor, type Locale } from '../i18n';
import type { Table } from '../store/table';
import { getTenant } from '../store/tenants';
import { LinkExpiredError, LinkInvalidError, LinkUsedError, verifyLink, type LinkParams } from './token';

/**
 * GET /link/{tenantId}?m=&e=&s= (docs/two-way.md, "Linking"): the link is verified before anything
 * else (a bad one: 400, an expired or used one: 410, each a page saying so); then a page that, inside
 * DingTalk, gets an auth code with `dd.requestAuthCode({corpId, clientId})` (docs/dingtalk-api.md
 * §10; both are public) and POSTs it with the link's parameters to the same path, showing the
 * answer. Its only scripts are DingTalk's JSAPI and its own inline script, allowed by URL and hash.
 */

/** DingTalk's JSAPI (package `dingtalk-jsapi`), the one external script the page loads. */
export const DINGTALK_JSAPI_URL = 'https://g.alicdn.com/dingding/dingtalk-jsapi/3.0.25/dingtalk.open.js';

/** The page's own script: reads the values from `#link`'s data attributes, never from the URL. */
export const LINK_SCRIPT = `(function () {
  var el = document.getElementById('link');
  var out = document.getElementById('result');
  var d = el.dataset;
  var show = function (cls, text) { out.className = 'status ' + cls; out.textContent = text; };
  var reason = function (b) {
    var code = b && b.error;
    return code === 'code_refused' ? d.refused : code === 'link_expired' ? d.expired : code === 'link_used' ? d.used : code === 'link_invalid' ? d.invalid : d.failed;
  };
  var dd = window.dd;
  if (!dd || typeof dd.requestAuthCode !== 'function' || (dd.env && dd.env.platform === 'notInDingTalk')) { show('bad', d.outside); return; }
  show('', d.working);
  var settled = false;
  dd.requestAuthCode({
    corpId: d.corp,
    clientId: d.client,
    success: function (r) {
      if (settled) return;
      settled = true;
      fetch(location.pathname, { method: 'POST', credentials: 'omit', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: r && r.code, m: d.m, e: d.e, s: d.s }) })
        .then(function (res) {
          return res.json().then(function (b) {
            if (res.ok && b && b.linked) show('ok', d.done.replace('{name}', b.name || ''));
            else show('bad', reason(b));
          });
        })
        .catch(function () { show('bad', d.failed); });
    },
    fail: function () { if (!settled) { settled = true; show('bad', d.failed); } }
  });
})();`;

/** The CSP source for {@link LINK_SCRIPT}. */
export const LINK_SCRIPT_HASH = `'sha256-${createHash('sha256').update(LINK_SCRIPT, 'utf8').digest('base64')}'`;

/**
 * The homepage's policy plus exactly the two scripts and a same-origin POST: no other script,
 * no inline handler, no form, no framing but DingTalk's.
 */
export const LINK_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `script-src ${DINGTALK_JSAPI_URL} ${LINK_SCRIPT_HASH}`,
  `style-src ${STYLE_HASH}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  'frame-ancestors https://*.dingtalk.com',
].join('; ');

/** An HTML page with the link page's policy. */
export function linkHtmlResponse(page: Page): HttpResult {
  const r = htmlResponse(page);
  return { ...r, headers: { ...r.headers, 'content-security-policy': LINK_CONTENT_SECURITY_POLICY } };
}

export interface LinkPageRequest {
  tenantId: string;
  query: Partial<Record<keyof LinkParams, string>>;
  now: number;
}

/**
 * The link page for a request, in `locale`: 200 with the page, or the error page (400 invalid,
 * 410 expired or used, 404 no integration). Never calls DingTalk.
 *
 * @example
 * const page = await linkPage(table, { tenantId, query: event.queryStringParameters ?? {}, now: Date.now() }, 'zh-CN');
 */
export async function linkPage(table: Table, req: LinkPageRequest, locale: Locale): Promise<Page> {
  const t = messagesFor(locale).link;
  let link: { memberId: string; expiresAt: number };
  try {
    link = await verifyLink(table, req.tenantId, req.query, req.now);
  } catch (e) {
    if (e instanceof LinkExpiredError) return renderError(410, t.expired, locale);
    if (e instanceof LinkUsedError) return renderError(410, t.used, locale);
    if (e instanceof LinkInvalidError) return renderError(400, t.invalid, locale);
    throw e;
  }
  const tenant = await getTenant(table, req.tenantId);
  if (!tenant) return renderError(404, t.unknown, locale);
  const q = req.query as LinkParams;
  const data = html`data-corp="${tenant.corpId}" data-client="${tenant.clientId}" data-m="${q.m}" data-e="${q.e}" data-s="${q.s}" data-working="${t.working}" data-done="${t.done}" data-outside="${t.outside}" data-refused="${t.refused}" data-failed="${t.failed}" data-invalid="${t.invalid}" data-expired="${t.expired}" data-used="${t.used}"`;
  const home = messagesFor(locale).home;
  const body = html`<header><p class="brand">${home.brand}</p><h1>${t.title}</h1></header>
<section id="link" ${data}><p>${t.intro(link.memberId)}</p><p class="muted">${t.expires(chinaTime(link.expiresAt * 1000, locale))}</p></section>
<section id="result" class="status" aria-live="polite"><noscript>${t.noScript}</noscript></section>
<script src="${DINGTALK_JSAPI_URL}"></script><script>${raw(LINK_SCRIPT)}</script>`;
  return { statusCode: 200, lang: locale, html: layout(`${t.title} · Flashduty`, body, locale) };
}

/**
 * middy middleware for the link routes: HTML error pages for GET (lib/homepage), JSON errors for
 * POST (the page's script reads `error`).
 */
export const linkErrors = (): MiddlewareObj<unknown, APIGatewayProxyResultV2> => {
  const page = htmlErrors();
  const api = httpErrors();
  return {
    onError: async (request) => {
      const method = (request.event as APIGatewayProxyEventV2 | undefined)?.requestContext?.http?.method;
      await (method === 'GET' ? page : api).onError!(request as never);
    },
  };
};
