import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { Locale } from '../i18n';
import { renderHome } from './render';
import { loadStatus, type StatusRequest, type StatusSources } from './status';
import type { HomeStatus, Page, PublicUrls } from './types';

const HOST = /^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$/;
/** The local HTTP API (npm start) serves plain HTTP and sets no x-forwarded-proto. */
const LOCAL_HOST = /^(localhost|127\.0\.0\.1)(:\d+)?$/;

/**
 * This integration's homepage and callback URLs as the browser reached them: scheme from
 * `x-forwarded-proto` (else https, http on localhost), API Gateway's own domain name, the raw
 * path (which keeps any custom-domain base path).
 * Undefined when the request does not look like one of our routes.
 *
 * @example
 * publicUrls(event) // { homepage: 'https://api.example.com/dingtalk/acme/home', callback: 'https://api.example.com/dingtalk/acme/callback' }
 */
export function publicUrls(event: Pick<APIGatewayProxyEventV2, 'headers' | 'rawPath' | 'requestContext'>): PublicUrls | undefined {
  const host = event.requestContext?.domainName ?? event.headers?.host;
  const path = event.rawPath ?? '';
  if (!host || !HOST.test(host) || !/^\/[A-Za-z0-9_/.-]*\/home\/?$/.test(path)) return undefined;
  const forwarded = event.headers?.['x-forwarded-proto'];
  const proto = forwarded === 'http' || forwarded === 'https' ? forwarded : LOCAL_HOST.test(host) ? 'http' : 'https';
  const homepage = `${proto}://${host}${path.replace(/\/$/, '')}`;
  return { homepage, callback: homepage.replace(/\/home$/, '/callback') };
}

/**
 * Reads the status and renders the page in `locale`: the whole homepage request, minus HTTP.
 *
 * @example
 * const { statusCode, html } = await homePage(tableSources(table), { tenantId, corpId, now: Date.now() }, 'zh-CN');
 */
export async function homePage(sources: StatusSources, req: StatusRequest, locale: Locale = 'en'): Promise<Page & { status: HomeStatus }> {
  const status = await loadStatus(sources, req);
  return { ...renderHome(status, locale), status };
}
