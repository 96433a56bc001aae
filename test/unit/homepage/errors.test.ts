import middy from '@middy/core';
import { htmlErrors } from '../../../lib/homepage';
import { NotFoundError } from '../../../lib/errors';
import { logger } from '../../../lib/log';
import { httpEvent, lambdaContext } from '../../support/factories';

type HttpResult = { statusCode: number; headers: Record<string, string>; body: string };

/** A handler that fails with `err`, wrapped the way functions/homepage.ts wraps its handler. */
const failingWith = (err: unknown) =>
  middy(async (): Promise<HttpResult> => {
    throw err;
  }).use(htmlErrors());

const anEvent = () => httpEvent({ method: 'GET', path: '/dingtalk/acme/home', pathParameters: { tenantId: 'acme' } });

describe('homepage errors', () => {
  beforeEach(() => {
    jest.spyOn(logger, 'error').mockImplementation(() => undefined);
    jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  it('an unexpected failure is a 500 HTML page that reveals nothing about it', async () => {
    const res = (await failingWith(new Error('ResourceNotFoundException: table dingtalk-bridge arn:aws:dynamodb:secret'))(anEvent(), lambdaContext)) as HttpResult;
    expect(res.statusCode).toBe(500);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.body).toContain('Error 500');
    expect(res.body).toContain('The status page could not be loaded.');
    expect(res.body).not.toMatch(/ResourceNotFound|arn:aws|dingtalk-bridge|secret/);
    expect(() => JSON.parse(res.body)).toThrow();
    expect(logger.error).toHaveBeenCalled();
  });

  it('a Chinese viewer gets the 500 page in Chinese, saying so in its headers', async () => {
    const event = httpEvent({ method: 'GET', path: '/dingtalk/acme/home', pathParameters: { tenantId: 'acme' }, headers: { 'accept-language': 'zh-CN,zh;q=0.9,en;q=0.8' } });
    const res = (await failingWith(new Error('boom'))(event, lambdaContext)) as HttpResult;
    expect(res.statusCode).toBe(500);
    expect(res.headers['content-language']).toBe('zh-CN');
    expect(res.headers.vary).toBe('Accept-Language');
    expect(res.body).toContain('<html lang="zh-CN">');
    expect(res.body).toContain('错误 500');
    expect(res.body).toContain('无法加载状态页。');
    expect(res.body).not.toContain('boom');
  });

  it('a typed error keeps its status and its public message, as HTML', async () => {
    const res = (await failingWith(new NotFoundError('<no> such page'))(anEvent(), lambdaContext)) as HttpResult;
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.body).toContain('&lt;no&gt; such page');
  });

  it('a Chinese viewer gets a typed error in Chinese, with its status, not its English message', async () => {
    const event = httpEvent({ method: 'GET', path: '/dingtalk/acme/home', pathParameters: { tenantId: 'acme' }, headers: { 'accept-language': 'zh-CN' } });
    const res = (await failingWith(new NotFoundError('no such page'))(event, lambdaContext)) as HttpResult;
    expect(res.statusCode).toBe(404);
    expect(res.body).toContain('错误 404');
    expect(res.body).not.toContain('no such page');
  });
});
