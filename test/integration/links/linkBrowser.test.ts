import type { Server } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import type { HttpHandler } from '../../../infra/local/httpApi';
import type { Simulator } from '../../../infra/local/dingtalkSimulator/simulator';
import type { Table } from '../../../lib/store/table';
import type { Tenant } from '../../../lib/contracts/tenant';
import { launchChromium } from '../../support/browser';
import { aTenant } from '../../support/factories';
import { startLocalAws, type LocalAws } from '../../support/localAws';

/**
 * The link page's own script in headless Chromium, under the page's real Content-Security-Policy:
 * DingTalk's JSAPI is replaced by a stand-in `dd` that hands over an auth code minted by the
 * simulator, as the DingTalk client would (docs/dingtalk-api.md §10); the page posts it and shows
 * the answer. Served by the local HTTP API, as under `npm start`.
 */

const JSAPI = 'https://g.alicdn.com/dingding/dingtalk-jsapi/3.0.25/dingtalk.open.js';

let aws: LocalAws;
let sim: Simulator;
let table: Table;
let api: { url: string; server: Server };
let browser: Browser;
let tenant: Tenant;
let mint: typeof import('../../../lib/links/token').mintLinkUrl;
let getMemberLinks: typeof import('../../../lib/store/links').getMemberLinks;

beforeAll(async () => {
  aws = await startLocalAws();
  const { startSimulator } = await import('../../../infra/local/dingtalkSimulator/simulator');
  sim = await startSimulator();
  Object.assign(process.env, { DINGTALK_API_URL: sim.url, DINGTALK_OAPI_URL: sim.oapiUrl, PUBLIC_URL: 'http://127.0.0.1' });
  const { handler } = (await import('../../../functions/link')) as unknown as { handler: HttpHandler };
  const { startHttpApi } = await import('../../../infra/local/httpApi');
  const { LINK_PAGE_ROUTE, LINK_POST_ROUTE } = await import('../../../lib/contracts/routes');
  api = await startHttpApi([{ ...LINK_PAGE_ROUTE, handler: async () => handler }, { ...LINK_POST_ROUTE, handler: async () => handler }], 0);
  const { createTable } = await import('../../../lib/store/table');
  const { putTenant } = await import('../../../lib/store/tenants');
  ({ mintLinkUrl: mint } = await import('../../../lib/links/token'));
  ({ getMemberLinks } = await import('../../../lib/store/links'));
  table = createTable(aws.tableName);
  tenant = await putTenant(table, aTenant());
  sim.addApp({ clientId: tenant.clientId, clientSecret: tenant.clientSecret, corpId: tenant.corpId, qps: 100, monthlyQuota: 10_000 });
  sim.addUser(tenant.corpId, { userId: 'manager4220', name: '张三' });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (api) await new Promise<void>((r) => (api.server.closeAllConnections(), api.server.close(() => r())));
  table?.doc.destroy();
  await sim?.close();
  await aws?.stop();
});

/** Opens `url` with `jsapi` served as DingTalk's JSAPI; returns the page and the CSP violations it reported. */
async function open(url: string, jsapi: string, locale = 'en-US'): Promise<{ page: Page; violations: string[] }> {
  const context = await browser.newContext({ locale, extraHTTPHeaders: { 'accept-language': locale } });
  const page = await context.newPage();
  const violations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
  });
  await page.route(JSAPI, (route) => route.fulfill({ status: 200, contentType: 'application/javascript', body: jsapi }));
  await page.goto(url);
  return { page, violations };
}

const resultOf = async (page: Page, cls: 'ok' | 'bad') => {
  await page.waitForSelector(`#result.status.${cls}`, { timeout: 10_000 });
  return page.innerText('#result');
};

describe('the link page in a browser', () => {
  it('inside DingTalk: gets the auth code for the tenant’s app, posts it, and shows the linked name', async () => {
    const memberId = '2476444212131';
    const { url } = await mint(table, { publicUrl: api.url, tenantId: tenant.tenantId, memberId, nowMs: Date.now() });
    const code = sim.issueAuthCode(tenant.clientId, 'manager4220');
    const dd = `window.dd = { env: { platform: 'android' }, requestAuthCode: function (o) {
      window.asked = { corpId: o.corpId, clientId: o.clientId };
      setTimeout(function () { o.success({ code: ${JSON.stringify(code)} }); }, 10);
    } };`;
    const { page, violations } = await open(url, dd);
    try {
      expect(await resultOf(page, 'ok')).toBe('Linked: 张三 is now your DingTalk account in Flashduty.');
      expect(await page.evaluate('window.asked')).toEqual({ corpId: tenant.corpId, clientId: tenant.clientId });
      expect((await getMemberLinks(table, tenant.tenantId, [memberId])).get(memberId)?.userId).toBe('manager4220');
      expect(violations).toEqual([]);
    } finally {
      await page.context().close();
    }
  });

  it('shows DingTalk’s refusal of a used code, in Chinese for a Chinese viewer', async () => {
    const { url } = await mint(table, { publicUrl: api.url, tenantId: tenant.tenantId, memberId: '2476444212132', nowMs: Date.now() });
    const dd = `window.dd = { requestAuthCode: function (o) { o.success({ code: 'used-or-unknown' }); } };`;
    const { page, violations } = await open(url, dd, 'zh-CN');
    try {
      expect(await resultOf(page, 'bad')).toBe('钉钉未接受本次登录：请在钉钉中重新打开此链接。');
      expect(violations).toEqual([]);
    } finally {
      await page.context().close();
    }
  });

  it('outside DingTalk (no dd): says to open the link inside DingTalk, and posts nothing', async () => {
    const { url } = await mint(table, { publicUrl: api.url, tenantId: tenant.tenantId, memberId: '2476444212133', nowMs: Date.now() });
    sim.reset();
    const { page } = await open(url, '/* not DingTalk */');
    try {
      expect(await resultOf(page, 'bad')).toBe('Open this link inside the DingTalk app: it cannot sign you in from a browser.');
      expect(sim.calls.filter((c) => c.api === 'getUserInfo')).toEqual([]);
    } finally {
      await page.context().close();
    }
  });
});
