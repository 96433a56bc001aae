import { html, type SafeHtml } from '../homepage/html';
import type { Messages, StepValues } from './en';

/**
 * Every Simplified Chinese text the bridge writes, key for key as `en.ts`. DingTalk's console
 * labels are quoted as its Chinese console shows them; the events by the titles of DingTalk's
 * event pages (docs/dingtalk-api.md, EV-T / EV-I / EV-U).
 */

const num = (n: number) => new Intl.NumberFormat('zh-CN').format(n);
const rate = (perDay: number) => `按每天约 ${num(Math.round(perDay))} 次调用估算，`;

export const zhCN: Messages = {
  home: {
    time: (minute) => `${minute}（北京时间）`,
    brand: 'Flashduty × 钉钉',
    titleLinked: '钉钉集成状态',
    titleNotLinked: '钉钉应用未关联',
    badgeLinked: '已关联',
    badgeNotLinked: '应用未关联',
    linkedTo: (tenantId) => html`此钉钉应用已关联 Flashduty 集成 <code>${tenantId}</code>。`,
    coolInstalled: (groups) => html`已在 <strong>${num(groups)} 个群</strong>中安装酷应用。`,
    coolNone: '还没有群安装酷应用：请将它添加到群聊，告警才能送达。',
    mismatch: (requestCorpId, tenantId, linkedCorpId) =>
      html`当前钉钉组织（<code>${requestCorpId}</code>）不是 Flashduty 集成 <code>${tenantId}</code> 所关联的组织，该集成关联的是 <code>${linkedCorpId}</code>。`,
    mismatchFix: '如果要由当前组织接收告警，请在 Flashduty 集成中填写它的 CorpId 和应用凭证（步骤见下方）。',
    unknown: (tenantId) => html`这里没有关联 Flashduty 集成 <code>${tenantId}</code>：可能是该集成从未保存或已被删除，也可能是首页地址有误。`,
    unknownFix: '请按下方步骤操作，然后从钉钉重新打开本页。',
    org: {
      heading: '组织',
      edition: '版本',
      limits: '限额',
      editions: { standard: '标准版', professional: '专业版', exclusive: '专属版' },
      limitsValue: (monthlyQuota, qps) => `每月 ${num(monthlyQuota)} 次调用，${num(qps)} QPS`,
    },
    usage: {
      heading: (month) => `${month} 用量`,
      figure: (used, quota, percent) => `${num(used)} / ${num(quota)} 次调用 · ${percent}`,
      meterLabel: '本月已用调用次数',
      remaining: (remaining, reserve) => `剩余 ${num(remaining)} 次，其中 ${num(reserve)} 次预留给严重告警。`,
      exhausted: '钉钉报告本月调用额度已用完：消息将暂存到下月 1 日再发送。',
      observed: (limit, quota) => `钉钉给该组织的限额是 ${num(limit)} 次调用，低于配置的 ${num(quota)} 次：请将租户记录的 monthlyQuota 设为 ${num(limit)}。`,
      parked: (n) => `${num(n)} 条消息已暂存，额度重置后发送。`,
      note: '按组织（CorpId）计数；每月 1 日 00:00（北京时间）重置。',
    },
    forecast: {
      none: '本月尚无调用记录。',
      runsOut: (perDay, on, reserveOn) => `${rate(perDay)}本月额度将在 ${on} 用完${reserveOn ? `；非严重告警将从 ${reserveOn} 起停止发送` : ''}。`,
      reserveReached: (perDay, on) => `${rate(perDay)}非严重告警将从 ${on} 起停止发送；严重告警仍可使用预留额度。`,
      lasts: (perDay) => `${rate(perDay)}本月额度够用。`,
    },
    groups: {
      heading: '已安装酷应用的群',
      unnamed: (shortId) => html`未命名群 <code>${shortId}</code>`,
      since: (time) => `安装于 ${time}`,
      sinceUnknown: '安装时间未知',
      more: (n) => `另有 ${num(n)} 个群。`,
      moreUnread: (n) => `本页只读取前 ${num(n)} 个群，还有更多群未列出。`,
      none: '暂无。在钉钉群聊中添加本应用的酷应用；钉钉上报安装后，该群就会出现在这里。',
    },
    steps: {
      checklist: '配置清单',
      fixHeading: '解决“应用未关联”',
      events: ['群会话更换群名称', '群内安装酷应用', '群内卸载酷应用'],
      separator: '、',
      list: (v: StepValues): SafeHtml[] => {
        const here = (url?: string) => (url ? html`（本集成为 <code>${url}</code>）` : '');
        return [
          html`在钉钉开发者后台复制组织的 <strong>CorpId</strong>，填入 Flashduty 钉钉集成的表单。`,
          html`打开你的企业内部应用，将它的 <strong>AgentId</strong>、<strong>Client ID</strong> 和 <strong>Client Secret</strong> 复制到同一表单。`,
          html`在<strong>事件订阅</strong>中选择 <strong>HTTP 推送</strong>，生成<strong>加密 aes_key</strong> 和<strong>签名 Token</strong>，将两者复制到表单，然后在 Flashduty 中点击<strong>保存</strong>。`,
          html`将<strong>事件订阅的请求网址</strong>设为 Flashduty 集成详情中的地址${here(v.callback)}，然后保存。`,
          html`订阅事件${v.events}，然后保存。`,
          html`将<strong>应用首页地址</strong>和 <strong>PC 端首页地址</strong>设为 Flashduty 集成详情中的首页地址${here(v.homepage)}，然后保存。`,
          html`开通权限 ${v.permissions}；如需使用作战室，还需开通 ${v.warRoomPermissions}。`,
          html`将应用的<strong>可见范围</strong>设为<strong>全部员工</strong>，然后发布版本。`,
          html`在每个需要接收告警的群聊中添加本应用的酷应用；钉钉上报安装后，该群就会出现在本页。`,
        ];
      },
    },
    updated: (time) => `更新于 ${time}`,
    error: {
      heading: '出错了',
      title: '错误',
      badge: (status) => `错误 ${status}`,
      retry: '请稍后刷新页面。如果问题持续，请联系你的 Flashduty 管理员。',
      loadFailed: '无法加载状态页。',
    },
  },
  message: {
    viewInFlashduty: '在 Flashduty 中查看',
    warRoom: {
      incident: (ref) => `故障：${ref}`,
      severity: { critical: '严重程度：严重', warning: '严重程度：警告', info: '严重程度：提醒' },
      opened: '这是 Flashduty 为该故障创建的作战室，请在此协同处理。',
    },
    card: {
      triggered: '已触发',
      acknowledged: (name) => (name ? `${name} 已认领` : '已认领'),
      snoozed: (time, name) => `${name ? `${name} ` : ''}已暂停通知${time ? `至 ${time}` : ''}`,
      closed: (name) => (name ? `${name} 已关闭` : '已关闭'),
      time: (minute) => `${minute}（北京时间）`,
    },
  },
  press: {
    acting: { ack: '正在认领…', close: '正在关闭…', snooze: (minutes) => `正在暂缓 ${minutes % 60 ? `${minutes} 分钟` : `${minutes / 60} 小时`}…` },
    unlinked: '你的钉钉账号还没有关联 Flashduty：请在钉钉中打开一次 Flashduty 发给你的关联页面，然后再按一次。',
    closed: '该故障已关闭，无需操作。',
  },
  link: {
    title: '关联钉钉与 Flashduty',
    intro: (memberId) => html`正在将你的钉钉账号关联到 Flashduty 成员 <code>${memberId}</code>，之后即可在钉钉中处理故障。`,
    expires: (time) => `此链接有效期至 ${time}。`,
    noScript: '此页面需要 JavaScript，并且必须在钉钉应用内打开。',
    working: '正在向钉钉确认你的身份…',
    done: '关联成功：{name} 现在是你在 Flashduty 中的钉钉账号。',
    outside: '请在钉钉应用内打开此链接：在浏览器中无法完成登录。',
    refused: '钉钉未接受本次登录：请在钉钉中重新打开此链接。',
    failed: '关联失败。请稍后重新打开此链接；如果问题持续，请联系你的 Flashduty 管理员。',
    invalid: '此链接无效：请向 Flashduty 索取新的链接。',
    expired: '此链接已过期：请向 Flashduty 索取新的链接。',
    used: '此链接已被使用过：请向 Flashduty 索取新的链接。',
    unknown: '此链接对应的 Flashduty 集成不存在。',
    homeHint: '如需在钉钉中处理故障，请关联你的 Flashduty 账号：打开 Flashduty 发给你的链接。',
  },
};
