import { buildStatus, htmlResponse, renderError, renderHome, setupSteps } from '../../../lib/homepage';
import { aTenant } from '../../support/factories';
import { aGroup as anyGroup, aRequest, aUsage, NOW, textOf, URLS } from '../../support/homepage';

const aGroup: typeof anyGroup = (over = {}) => anyGroup({ title: '支付告警群', ...over });

/** Latin words a Chinese page keeps: product names and DingTalk's own console labels. */
const KEPT_IN_CHINESE = new Set(['Flashduty', 'CorpId', 'AgentId', 'Client', 'ID', 'Secret', 'QPS', 'HTTP', 'aes_key', 'Token', 'PC', 'monthlyQuota']);
const untranslated = (doc: string) => (textOf(doc, { withoutCode: true }).match(/[A-Za-z][A-Za-z_]*/g) ?? []).filter((w) => !KEPT_IN_CHINESE.has(w));

describe('the homepage in Simplified Chinese', () => {
  it('a linked integration reads entirely in Chinese, numbers and China time included', () => {
    // given
    const tenant = aTenant({ corpId: 'dingcorp42', clientId: 'dingappkey42', agentId: '3000042', edition: 'professional', monthlyQuota: 10_000 });
    // when
    const page = renderHome(buildStatus(aRequest(tenant), tenant, [aGroup(), aGroup({ title: undefined, openConversationId: 'cidAbCdEfGhIjKlMn==' })], aUsage(tenant)), 'zh-CN');
    // then
    const text = textOf(page.html);
    expect(page.statusCode).toBe(200);
    expect(page.lang).toBe('zh-CN');
    expect(page.html).toContain('<html lang="zh-CN">');
    expect(page.html).toContain('<title>钉钉集成状态 · Flashduty</title>');
    expect(text).toContain('Flashduty × 钉钉 钉钉集成状态 已关联');
    expect(text).toContain(`此钉钉应用已关联 Flashduty 集成 ${tenant.tenantId}。`);
    expect(text).toContain('已在 2 个群中安装酷应用。');
    expect(text).toMatch(/组织 CorpId dingcorp42 版本 专业版 Client ID dingappkey42 AgentId 3000042 限额 每月 10,000 次调用，40 QPS/);
    expect(text).toContain('2025-06 用量 1,234 / 10,000 次调用 · 12.3%');
    expect(text).toContain('剩余 8,766 次，其中 500 次预留给严重告警。');
    expect(text).toContain('按每天约 80 次调用估算，本月额度够用。');
    expect(text).toContain('按组织（CorpId）计数；每月 1 日 00:00（北京时间）重置。');
    expect(text).toContain('已安装酷应用的群 支付告警群 安装于 2025-06-01 09:30（北京时间）');
    expect(text).toContain('未命名群 cidAbCdEfG…');
    expect(text).toContain('配置清单');
    expect(text).toContain('更新于 2025-06-16 12:00（北京时间）');
    expect(page.html).toContain('aria-label="本月已用调用次数"');
    expect(untranslated(page.html)).toEqual([]);
  });

  it('the quota warnings are in Chinese', () => {
    const tenant = aTenant({ monthlyQuota: 5000 });
    const soon = textOf(renderHome(buildStatus(aRequest(tenant), tenant, [], aUsage(tenant, { used: 4000 })), 'zh-CN').html);
    expect(soon).toContain('按每天约 258 次调用估算，本月额度将在 2025-06-20 用完；非严重告警将从 2025-06-19 起停止发送。');
    const out = renderHome(buildStatus(aRequest(tenant), tenant, [], aUsage(tenant, { used: 5000, exhausted: true, parked: 3, observedLimit: 3000 })), 'zh-CN');
    const text = textOf(out.html);
    expect(text).toContain('钉钉报告本月调用额度已用完：消息将暂存到下月 1 日再发送。');
    expect(text).toContain('3 条消息已暂存，额度重置后发送。');
    expect(text).toContain('钉钉给该组织的限额是 3,000 次调用，低于配置的 5,000 次：请将租户记录的 monthlyQuota 设为 3,000。');
    expect(untranslated(out.html)).toEqual([]);
  });

  it('no group yet, and more groups than are listed, are said in Chinese', () => {
    const tenant = aTenant();
    const none = textOf(renderHome(buildStatus(aRequest(tenant), tenant, [], aUsage(tenant, { used: 0 })), 'zh-CN').html);
    expect(none).toContain('还没有群安装酷应用：请将它添加到群聊，告警才能送达。');
    expect(none).toContain('暂无。在钉钉群聊中添加本应用的酷应用');
    expect(none).toContain('本月尚无调用记录。');
    const many = textOf(renderHome(buildStatus(aRequest(tenant), tenant, Array.from({ length: 53 }, () => aGroup()), aUsage(tenant)), 'zh-CN').html);
    expect(many).toContain('已在 53 个群中安装酷应用。');
    expect(many).toContain('另有 3 个群。');
  });

  it('an unknown tenant gets the setup steps in Chinese, with DingTalk\'s Chinese console labels', () => {
    // when
    const page = renderHome(buildStatus({ tenantId: 'nobody', now: NOW, urls: URLS }, undefined), 'zh-CN');
    // then
    const text = textOf(page.html);
    expect(page.statusCode).toBe(404);
    expect(page.html).toContain('<html lang="zh-CN">');
    expect(text).toContain('应用未关联 这里没有关联 Flashduty 集成 nobody：可能是该集成从未保存或已被删除，也可能是首页地址有误。');
    expect(text).toContain('解决“应用未关联”');
    expect(page.html.match(/<ol class="steps">[\s\S]*?<\/ol>/)![0].match(/<li>/g)).toHaveLength(9);
    for (const needed of [
      '在钉钉开发者后台复制组织的 CorpId',
      '在事件订阅中选择 HTTP 推送，生成加密 aes_key 和签名 Token',
      '将事件订阅的请求网址设为 Flashduty 集成详情中的地址，然后保存。',
      '订阅事件群会话更换群名称、群内安装酷应用、群内卸载酷应用，然后保存。',
      '将应用首页地址和 PC 端首页地址设为 Flashduty 集成详情中的首页地址，然后保存。',
      '开通权限 qyapi_chat_manage、qyapi_robot_sendmsg；如需使用作战室，还需开通 qyapi_chat_read、qyapi_chat_base_read、qyapi_get_member_by_mobile。',
      '将应用的可见范围设为全部员工，然后发布版本。',
    ]) {
      expect(text).toContain(needed);
    }
    expect(page.html).toContain('<q>群会话更换群名称</q>、<q>群内安装酷应用</q>、<q>群内卸载酷应用</q>');
    expect(untranslated(page.html)).toEqual([]);
  });

  it('another organisation is told in Chinese, with this integration\'s URLs in the steps', () => {
    const tenant = aTenant({ corpId: 'dingLINKED' });
    const page = renderHome(buildStatus(aRequest(tenant, { corpId: 'dingOTHER' }), tenant), 'zh-CN');
    const text = textOf(page.html);
    expect(text).toContain(`当前钉钉组织（dingOTHER）不是 Flashduty 集成 ${tenant.tenantId} 所关联的组织，该集成关联的是 dingLINKED。`);
    expect(text).toContain(`设为 Flashduty 集成详情中的地址（本集成为 ${URLS.callback}），然后保存。`);
    expect(text).toContain(`首页地址（本集成为 ${URLS.homepage}），然后保存。`);
    expect(untranslated(page.html)).toEqual([]);
  });

  it('the steps are the same steps in both languages', () => {
    expect(setupSteps(URLS, 'zh-CN')).toHaveLength(setupSteps(URLS, 'en').length);
  });

  it('the error page is in Chinese', () => {
    const page = renderError(500, undefined, 'zh-CN');
    const text = textOf(page.html);
    expect(page.html).toContain('<html lang="zh-CN">');
    expect(text).toContain('出错了 错误 500 无法加载状态页。 请稍后刷新页面。如果问题持续，请联系你的 Flashduty 管理员。');
    expect(textOf(renderError(500, undefined, 'en').html)).toContain('Error 500 The status page could not be loaded.');
  });
});

describe('the homepage in English', () => {
  it('is English with <html lang="en">, without a Chinese word of its own', () => {
    const tenant = aTenant();
    const page = renderHome(buildStatus(aRequest(tenant), tenant, [aGroup({ title: 'SRE on-call' })], aUsage(tenant)), 'en');
    expect(page.lang).toBe('en');
    expect(page.html).toContain('<html lang="en">');
    expect(textOf(page.html)).toContain('DingTalk integration status Linked');
    expect(page.html).not.toMatch(/[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]/);
  });

  it('is the default', () => {
    const tenant = aTenant();
    expect(renderHome(buildStatus(aRequest(tenant), tenant)).lang).toBe('en');
  });
});

describe('the response says its language', () => {
  it.each(['zh-CN', 'en'] as const)('%s: Content-Language matches <html lang>, and it varies by Accept-Language', (locale) => {
    const tenant = aTenant();
    const res = htmlResponse(renderHome(buildStatus(aRequest(tenant), tenant), locale));
    expect(res.headers['content-language']).toBe(locale);
    expect(res.headers.vary).toBe('Accept-Language');
    expect(res.body).toContain(`<html lang="${locale}">`);
  });
});
