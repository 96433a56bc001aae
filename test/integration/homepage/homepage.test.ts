import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import type { HttpHandler } from '../../../infra/local/httpApi';
import type { Table } from '../../../lib/store/table';
import type { Tenant } from '../../../lib/contracts/tenant';
import { useCjkFont } from '../../support/cjkFont';
import { aTenant, httpEvent, lambdaContext } from '../../support/factories';
import { startLocalAws, type LocalAws } from '../../support/localAws';
import { launchChromium } from '../../support/browser';

/**
 * The homepage Lambda end to end on DynamoDB Local: tenants written with the store the CLI uses,
 * groups with the store the events feature uses, calls counted with the sender's quota counter;
 * then the page served by the local HTTP API and looked at in headless Chromium.
 */

type HttpResult = { statusCode: number; headers: Record<string, string>; body: string };

const VIEWPORTS = [
  { name: 'mobile', width: 375, height: 800 },
  { name: 'pc', width: 1280, height: 800 },
] as const;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const HOSTILE_TITLE = '<script>alert(1)</script>';

let aws: LocalAws;
let handler: HttpHandler;
let table: Table;
let stores: {
  putTenant: typeof import('../../../lib/store/tenants').putTenant;
  applyLink: typeof import('../../../lib/store/groups').applyLink;
  applyTitle: typeof import('../../../lib/store/groups').applyTitle;
  reserveCalls: typeof import('../../../lib/quota/counter').reserveCalls;
};
let api: { url: string; server: Server };
let browser: Browser;
let shots: string;
let linked: Tenant;
let undoCjkFont: (() => void) | undefined;

// Before the browser starts: a Chinese font for it, as every phone that opens the page in DingTalk has.
beforeAll(() => void (undoCjkFont = useCjkFont()));
afterAll(() => undoCjkFont?.());

beforeAll(async () => {
  aws = await startLocalAws();
  // Import only now: the handler reads its configuration and creates its clients at module scope.
  ({ handler } = (await import('../../../functions/homepage')) as unknown as { handler: HttpHandler });
  const { createTable } = await import('../../../lib/store/table');
  const { putTenant } = await import('../../../lib/store/tenants');
  const { applyLink, applyTitle } = await import('../../../lib/store/groups');
  const { reserveCalls } = await import('../../../lib/quota/counter');
  stores = { putTenant, applyLink, applyTitle, reserveCalls };
  table = createTable(aws.tableName);
  const { startHttpApi } = await import('../../../infra/local/httpApi');
  api = await startHttpApi([{ method: 'GET', path: '/dingtalk/{tenantId}/home', handler: async () => handler }], 0);
  browser = await launchChromium();
  shots = mkdtempSync(join(tmpdir(), 'homepage-shots-'));
  linked = await aLinkedTenantWithGroups();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (api) await new Promise<void>((r) => (api.server.closeAllConnections(), api.server.close(() => r())));
  table?.doc.destroy();
  await aws?.stop();
  if (shots) rmSync(shots, { recursive: true, force: true });
});

// ---- helpers and small factories ---------------------------------------------------------------

let seq = 0;

/** A cool-app install (and optionally a rename) recorded the way the events feature records them. */
async function aGroup(tenant: Tenant, opts: { title?: string; installedAt: string; uninstalledAt?: string }): Promise<string> {
  const openConversationId = `cid${++seq}Xy${Date.now().toString(36)}==`;
  await stores.applyLink(table, tenant.tenantId, { openConversationId, linked: true, at: Date.parse(opts.installedAt), coolAppCode: 'COOLAPP-flashduty', robotCode: tenant.clientId, corpId: tenant.corpId }, Date.now());
  if (opts.title) await stores.applyTitle(table, tenant.tenantId, { openConversationId, title: opts.title, at: Date.parse(opts.installedAt) + 1000, corpId: tenant.corpId }, Date.now());
  if (opts.uninstalledAt) await stores.applyLink(table, tenant.tenantId, { openConversationId, linked: false, at: Date.parse(opts.uninstalledAt) }, Date.now());
  return openConversationId;
}

/** A linked tenant with three installed groups (one with a hostile title), one uninstalled, 1,234 calls counted. */
async function aLinkedTenantWithGroups(): Promise<Tenant> {
  const tenant = await stores.putTenant(table, aTenant({ corpId: 'dingc0ffee42', clientId: 'dingappkey0042', agentId: '3312345678', edition: 'professional' }));
  await aGroup(tenant, { title: 'SRE on-call', installedAt: '2025-05-20T02:00:00Z' });
  await aGroup(tenant, { title: 'Payments alerts', installedAt: '2025-06-01T01:30:00Z' });
  await aGroup(tenant, { title: HOSTILE_TITLE, installedAt: '2025-06-02T01:30:00Z' });
  await aGroup(tenant, { title: 'Old war room', installedAt: '2025-04-01T00:00:00Z', uninstalledAt: '2025-04-03T00:00:00Z' });
  const grant = await stores.reserveCalls(table, tenant.corpId, 1234, { quota: 500_000, severity: 'critical' });
  expect(grant.granted).toBe(1234);
  return tenant;
}

const homeEvent = (tenantId: string, query?: Record<string, string>, headers: Record<string, string> = {}) =>
  httpEvent({ method: 'GET', path: `/dingtalk/${tenantId}/home`, pathParameters: { tenantId }, query, headers: { 'x-forwarded-proto': 'https', ...headers } });

/** Invokes the Lambda handler, capturing everything it logs. */
async function invoke(event: unknown): Promise<{ res: HttpResult; logs: string }> {
  const captured: string[] = [];
  const record = (...args: unknown[]) => void captured.push(args.map((a) => (typeof a === 'string' ? a : Buffer.isBuffer(a) ? a.toString('utf8') : JSON.stringify(a))).join(' '));
  const spies = [
    jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: unknown) => (record(chunk), true)) as never),
    ...(['log', 'info', 'warn', 'error', 'debug'] as const).map((m) => jest.spyOn(console, m).mockImplementation(record)),
  ];
  try {
    const res = (await handler(event as never, lambdaContext)) as HttpResult;
    return { res, logs: captured.join('\n') };
  } finally {
    for (const s of spies) s.mockRestore();
  }
}

const secretsOf = (t: Tenant) => [t.clientSecret, t.aesKey, t.token];

/**
 * Opens the homepage in a fresh page at the viewport, as a browser set to `locale` (its
 * Accept-Language). Records every request the page makes (it should make none but itself) and every
 * CSP violation Chromium reports on the console.
 */
async function open(tenantId: string, viewport: { width: number; height: number }, query = '', locale = 'en-US') {
  const page: Page = await browser.newPage({ viewport, locale });
  const cspErrors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => void (m.type() === 'error' && /Content Security Policy|Refused/i.test(m.text()) && cspErrors.push(m.text())));
  page.on('request', (r) => void requests.push(r.url()));
  const url = `${api.url}/dingtalk/${tenantId}/home${query}`;
  const response = await page.goto(url);
  await page.waitForLoadState('load');
  return { page, response: response!, cspErrors, requests, url };
}

const scrollWidth = (page: Page) => page.evaluate<number>('document.documentElement.scrollWidth');

async function screenshotPng(page: Page, name: string): Promise<string> {
  const file = join(shots, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  expect(statSync(file).size).toBeGreaterThan(1000);
  expect(readFileSync(file).subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  return file;
}

// ---- the Lambda handler ------------------------------------------------------------------------

describe('homepage Lambda (DynamoDB Local)', () => {
  it('a linked tenant gets its status, organisation, installed groups and usage as safe HTML', async () => {
    // when
    const { res, logs } = await invoke(homeEvent(linked.tenantId, { corpId: linked.corpId }));
    // then
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['content-security-policy']).toMatch(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+=*'/);
    expect(res.body).toContain('<p class="badge">Linked</p>');
    expect(res.body).toContain('Cool app installed in <strong>3 groups</strong>');
    expect(res.body).toContain('<code>dingc0ffee42</code>');
    expect(res.body).toContain('<code>dingappkey0042</code>');
    expect(res.body).toContain('Professional');
    expect(res.body).toContain('SRE on-call');
    expect(res.body).toContain('since 2025-06-01 09:30 (UTC+8)');
    expect(res.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(res.body).not.toMatch(/<script/i);
    expect(res.body).not.toContain('Old war room');
    expect(res.body).toContain('1,234 / 500,000 calls · 0.2%');
    for (const s of secretsOf(linked)) expect(res.body + logs).not.toContain(s);
    expect(logs).toContain('homepage served');
  });

  it('an unknown tenant gets a 404 HTML page with the fix for "app not linked"', async () => {
    const { res } = await invoke(homeEvent('no-such-tenant'));
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.body).toContain('App not linked');
    expect(res.body).toContain('Fix “app not linked”');
    expect(res.body).toContain('Visible Scope</strong> to <strong>all employees');
  });

  it('another DingTalk organisation is told it is not the linked one, and sees none of its groups or usage', async () => {
    const { res } = await invoke(homeEvent(linked.tenantId, { corpId: 'dingSOMEONEELSE' }));
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('This DingTalk organisation (<code>dingSOMEONEELSE</code>) is not the one linked');
    expect(res.body).not.toContain('SRE on-call');
    expect(res.body).not.toContain('calls ·');
    for (const s of secretsOf(linked)) expect(res.body).not.toContain(s);
  });
});

// ---- in a browser ------------------------------------------------------------------------------

describe('homepage in headless Chromium (local HTTP API)', () => {
  for (const vp of VIEWPORTS) {
    it(`a linked tenant's page reads "Linked" at ${vp.width} px, without horizontal scrolling`, async () => {
      // when
      const { page, response, cspErrors, requests, url } = await open(linked.tenantId, vp, `?corpId=${linked.corpId}`);
      try {
        // then
        expect(response.status()).toBe(200);
        await expect(page.getByText('Linked', { exact: true }).isVisible()).resolves.toBe(true);
        await expect(page.getByText(HOSTILE_TITLE, { exact: true }).isVisible()).resolves.toBe(true);
        const text = (await page.textContent('body')) ?? '';
        expect(text).toContain('Cool app installed in 3 groups');
        expect(text).toContain('1,234 / 500,000 calls · 0.2%');
        expect(text).not.toContain('Old war room');
        for (const s of secretsOf(linked)) expect(text).not.toContain(s);
        // the hashed stylesheet applied (CSP allowed it), nothing was blocked, nothing else loaded
        expect(await page.evaluate<string>("getComputedStyle(document.querySelector('section')).borderRadius")).toBe('10px');
        expect(cspErrors).toEqual([]);
        expect(requests).toEqual([url]);
        if (vp.width === 375) expect(await scrollWidth(page)).toBeLessThanOrEqual(375);
        const file = await screenshotPng(page, `linked-${vp.name}`);
        copyFileSync(file, vp.width === 375 ? '/tmp/homepage-linked.png' : '/tmp/homepage-linked-1280.png');
      } finally {
        await page.close();
      }
    });

    it(`an unknown tenant's page says "App not linked" with the steps at ${vp.width} px`, async () => {
      const { page, response, cspErrors, requests, url } = await open('no-such-tenant', vp);
      try {
        expect(response.status()).toBe(404);
        await expect(page.getByText('App not linked', { exact: true }).isVisible()).resolves.toBe(true);
        await expect(page.getByRole('heading', { name: 'Fix “app not linked”' }).isVisible()).resolves.toBe(true);
        expect(await page.locator('ol.steps > li').count()).toBeGreaterThanOrEqual(8);
        expect(cspErrors).toEqual([]);
        expect(requests).toEqual([url]);
        if (vp.width === 375) expect(await scrollWidth(page)).toBeLessThanOrEqual(375);
        const file = await screenshotPng(page, `unknown-${vp.name}`);
        if (vp.width === 375) copyFileSync(file, '/tmp/homepage-unknown.png');
      } finally {
        await page.close();
      }
    });
  }
});

// ---- in Chinese ----------------------------------------------------------------------------------

/** What DingTalk's in-app browser sends on a phone set to Chinese (the WebView's Accept-Language). */
const CHINESE = { 'accept-language': 'zh-CN,zh;q=0.9,en-US;q=0.8,en;q=0.7' };

describe('homepage Lambda in the viewer\'s language (DynamoDB Local)', () => {
  it('a Chinese viewer gets the linked tenant\'s page in Simplified Chinese, saying so in its headers', async () => {
    // when
    const { res, logs } = await invoke(homeEvent(linked.tenantId, { corpId: linked.corpId }, CHINESE));
    // then
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-language']).toBe('zh-CN');
    expect(res.headers.vary).toBe('Accept-Language');
    expect(res.body).toContain('<html lang="zh-CN">');
    expect(res.body).toContain('<p class="badge">已关联</p>');
    expect(res.body).toContain('已在 <strong>3 个群</strong>中安装酷应用。');
    expect(res.body).toContain('专业版');
    expect(res.body).toContain('1,234 / 500,000 次调用 · 0.2%');
    expect(res.body).toContain('安装于 2025-06-01 09:30（北京时间）');
    expect(res.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(res.body).not.toContain('Linked');
    for (const s of secretsOf(linked)) expect(res.body + logs).not.toContain(s);
    expect(logs).toMatch(/"lang":"zh-CN"/);
  });

  it('an unknown tenant gets the 404 page and its steps in Chinese', async () => {
    const { res } = await invoke(homeEvent('no-such-tenant', undefined, CHINESE));
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-language']).toBe('zh-CN');
    expect(res.body).toContain('<p class="badge">应用未关联</p>');
    expect(res.body).toContain('解决“应用未关联”');
    expect(res.body).toContain('<strong>可见范围</strong>设为<strong>全部员工</strong>');
  });

  it.each([
    ['an English browser', { 'accept-language': 'en-US,en;q=0.9,zh-CN;q=0.5' }],
    ['a browser that sends no Accept-Language', {}],
  ])('%s gets English', async (_label, headers) => {
    const { res } = await invoke(homeEvent(linked.tenantId, undefined, headers));
    expect(res.headers['content-language']).toBe('en');
    expect(res.headers.vary).toBe('Accept-Language');
    expect(res.body).toContain('<html lang="en">');
    expect(res.body).toContain('<p class="badge">Linked</p>');
    expect(res.body).not.toContain('已关联');
  });
});

/**
 * How the page draws the characters of `selector`'s text: each distinct character drawn alone on a
 * canvas in the element's own font list, and a fingerprint of its pixels; `tofu` is the fingerprint
 * of a character no font has (the missing-glyph box). Evaluated in the page, as a string: the page's
 * CSP allows no script, and Playwright's evaluation is not subject to it.
 */
const glyphsOf = (selector: string) => `(() => {
  const el = document.querySelector(${JSON.stringify(selector)});
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 64;
  const g = canvas.getContext('2d');
  g.font = '48px ' + getComputedStyle(el).fontFamily;
  const shape = (ch) => {
    g.clearRect(0, 0, 64, 64);
    g.fillText(ch, 4, 52);
    const px = g.getImageData(0, 0, 64, 64).data;
    let hash = 2166136261, ink = 0;
    for (let i = 3; i < px.length; i += 4) { hash = Math.imul(hash ^ px[i], 16777619) >>> 0; if (px[i]) ink++; }
    return ink ? hash.toString(16) : 'blank';
  };
  const chars = [...new Set(el.textContent.replace(/\\s/g, ''))];
  return { chars, shapes: chars.map(shape), tofu: shape(String.fromCodePoint(0x10fffd)) };
})()`;

/** Every distinct character of the element is drawn, each with its own glyph: none blank, none the missing-glyph box. */
async function expectRealGlyphs(page: Page, selector: string, chars: string) {
  const { chars: drawn, shapes, tofu } = await page.evaluate<{ chars: string[]; shapes: string[]; tofu: string }>(glyphsOf(selector));
  expect(drawn.join('')).toBe(chars);
  expect(shapes).not.toContain('blank');
  expect(shapes).not.toContain(tofu);
  expect(new Set(shapes).size).toBe(drawn.length);
}

describe('homepage in headless Chromium, in the viewer\'s language (local HTTP API)', () => {
  it('a browser set to Chinese shows the page in Simplified Chinese, drawn with real Chinese glyphs', async () => {
    // when
    const { page, response, cspErrors, requests, url } = await open(linked.tenantId, VIEWPORTS[0], `?corpId=${linked.corpId}`, 'zh-CN');
    try {
      // then
      expect(response.status()).toBe(200);
      expect(response.headers()['content-language']).toBe('zh-CN');
      expect(await page.evaluate<string>('document.documentElement.lang')).toBe('zh-CN');
      await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('钉钉集成状态');
      await expect(page.getByText('已关联', { exact: true }).isVisible()).resolves.toBe(true);
      const text = (await page.textContent('body')) ?? '';
      expect(text).toContain('已在 3 个群中安装酷应用。');
      expect(text).toContain('1,234 / 500,000 次调用 · 0.2%');
      await expectRealGlyphs(page, 'h1', '钉集成状态');
      await expectRealGlyphs(page, '.badge', '已关联');
      expect(cspErrors).toEqual([]);
      expect(requests).toEqual([url]);
      expect(await scrollWidth(page)).toBeLessThanOrEqual(VIEWPORTS[0].width);
      copyFileSync(await screenshotPng(page, 'linked-zh-mobile'), '/tmp/homepage-linked-zh.png');
    } finally {
      await page.close();
    }
  });

  it('a browser set to English shows the page in English, drawn with real glyphs too', async () => {
    const { page, response } = await open(linked.tenantId, VIEWPORTS[1], `?corpId=${linked.corpId}`, 'en-US');
    try {
      expect(response.headers()['content-language']).toBe('en');
      expect(await page.evaluate<string>('document.documentElement.lang')).toBe('en');
      await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('DingTalk integration status');
      await expect(page.getByText('Linked', { exact: true }).isVisible()).resolves.toBe(true);
      await expectRealGlyphs(page, 'h1', 'DingTalkterosu');
    } finally {
      await page.close();
    }
  });
});
