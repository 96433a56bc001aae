import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { BridgeError } from '../errors';
import type { HttpResult } from '../http/json';
import { negotiateLocale, type Locale } from '../i18n';
import { logger } from '../log';
import { renderError } from './render';
import { STYLE_HASH } from './style';
import type { Page } from './types';

/**
 * Nothing but the hashed stylesheet may load or run: no scripts, no forms, no plugins, no base
 * rewriting. Framing only by DingTalk's own web pages (its web client may embed app homepages).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src ${STYLE_HASH}`,
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  'frame-ancestors https://*.dingtalk.com',
].join('; ');

/**
 * The language to answer a request in, from its `Accept-Language` (lib/i18n/locale.ts):
 * Simplified Chinese to a Chinese viewer, English otherwise.
 *
 * @example
 * viewerLocale({ headers: { 'accept-language': 'zh-CN,zh;q=0.9' } }) // 'zh-CN'
 */
export function viewerLocale(event: Pick<APIGatewayProxyEventV2, 'headers'> | undefined): Locale {
  return negotiateLocale(event?.headers?.['accept-language']);
}

/**
 * An API Gateway result for an HTML page: UTF-8, never cached, strict CSP, its language in
 * `Content-Language`, and `Vary: Accept-Language` since the language follows the viewer's.
 *
 * @example
 * return htmlResponse(renderHome(status));
 */
export function htmlResponse(page: Page): HttpResult {
  return {
    statusCode: page.statusCode,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-language': page.lang,
      vary: 'Accept-Language',
      'cache-control': 'no-store',
      'content-security-policy': CONTENT_SECURITY_POLICY,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    },
    body: page.html,
  };
}

/**
 * middy middleware for HTML routes: a {@link BridgeError} becomes its status with its public
 * message on a small HTML page; anything else is logged and answered 500 without details. The
 * page is in the viewer's language (a BridgeError's own, English, message only on an English page).
 *
 * @example
 * middy(handler).use(htmlErrors())
 */
export const htmlErrors = (): MiddlewareObj<unknown, APIGatewayProxyResultV2> => ({
  onError: async (request) => {
    const err = request.error;
    const locale = viewerLocale(request.event as APIGatewayProxyEventV2 | undefined);
    if (err instanceof BridgeError) {
      logger.warn('request rejected', { status: err.status, code: err.code, reason: err.message });
      // The code's messages are English: a Chinese page says it in Chinese, without them.
      request.response = htmlResponse(renderError(err.status, locale === 'en' ? err.message : undefined, locale));
    } else {
      logger.error('request failed', err as Error);
      request.response = htmlResponse(renderError(500, undefined, locale));
    }
  },
});
