import { createHash } from 'node:crypto';
import {
  buildStatus,
  CONTENT_SECURITY_POLICY,
  escapeHtml,
  html,
  htmlResponse,
  renderError,
  renderHome,
  STYLE,
} from '../../../lib/homepage';
import type { Tenant } from '../../../lib/contracts/tenant';
import { aTenant } from '../../support/factories';
import { aGroup, aRequest, aUsage, NOW, textOf, URLS } from '../../support/homepage';


const secretsOf = (t: Tenant) => [t.clientSecret, t.aesKey, t.token];

describe('homepage rendering', () => {
  describe('a linked integration', () => {
    it('shows "Linked", the organisation, the groups with the cool app and this month\'s usage', () => {
      // given
      const tenant = aTenant({ corpId: 'dingcorp42', clientId: 'dingappkey42', agentId: '3000042', edition: 'standard' });
      const groups = [aGroup({ title: 'Payments 支付告警群' }), aGroup({ title: 'SRE on-call' })];
      // when
      const page = renderHome(buildStatus(aRequest(tenant), tenant, groups, aUsage(tenant, { used: 1234 })));
      // then
      const text = textOf(page.html);
      expect(page.statusCode).toBe(200);
      expect(text).toContain('Linked');
      expect(text).not.toContain('not linked');
      expect(text).toContain(`linked to Flashduty integration ${tenant.tenantId}`);
      expect(text).toContain('Cool app installed in 2 groups');
      expect(text).toMatch(/CorpId dingcorp42 Edition Standard Client ID dingappkey42 AgentId 3000042/);
      expect(text).toContain('10,000 calls/month, 20 QPS');
      expect(text).toContain('Payments 支付告警群 since 2025-06-01 09:30 (UTC+8)');
      expect(text).toContain('SRE on-call');
      expect(text).toContain('Usage in 2025-06');
      expect(text).toContain('1,234 / 10,000 calls · 12.3%');
      expect(text).toContain('8,766 left, of which 500 are kept for critical alerts');
      expect(text).toContain('At about 80 calls a day the quota lasts the month');
      expect(page.html).toMatch(/<meter min="0" max="10000" [^>]*value="1234"/);
    });

    it('says when no group has the cool app yet', () => {
      const tenant = aTenant();
      const page = renderHome(buildStatus(aRequest(tenant), tenant, [aGroup({ linked: false, title: 'Old group' })], aUsage(tenant, { used: 0 })));
      const text = textOf(page.html);
      expect(text).toContain('Linked');
      expect(text).toContain('Cool app not installed in any group yet');
      expect(text).not.toContain('Old group');
      expect(text).toContain('0 / 10,000 calls · 0.0%');
      expect(text).toContain('No calls counted yet this month');
    });

    it('a group whose name is not known yet is listed by its conversation id', () => {
      const tenant = aTenant();
      const page = renderHome(buildStatus(aRequest(tenant), tenant, [aGroup({ title: undefined, openConversationId: 'cidAbCdEfGhIjKlMn==' })], aUsage(tenant)));
      expect(textOf(page.html)).toContain('Unnamed group cidAbCdEfG… since 2025-06-01 09:30 (UTC+8)');
    });

    it('uses the tenant\'s quota override and warns when the quota will run out this month', () => {
      const tenant = aTenant({ edition: 'standard', monthlyQuota: 5000 });
      const page = renderHome(buildStatus(aRequest(tenant), tenant, [], aUsage(tenant, { used: 4000 })));
      const text = textOf(page.html);
      expect(text).toContain('4,000 / 5,000 calls · 80.0%');
      expect(text).toContain('5,000 calls/month, 20 QPS');
      expect(text).toMatch(/At about 258 calls a day the quota runs out on 2025-06-20; non-critical alerts stop on 2025-06-19/);
    });

    it('says when DingTalk reported the quota used up and how many messages wait', () => {
      const tenant = aTenant();
      const page = renderHome(buildStatus(aRequest(tenant), tenant, [], aUsage(tenant, { used: 10_000, exhausted: true, parked: 3 })));
      const text = textOf(page.html);
      expect(text).toContain('10,000 / 10,000 calls · 100.0%');
      expect(text).toContain('monthly quota as used up');
      expect(text).toContain('3 messages are parked until the quota resets');
    });

    it('keeps the setup checklist folded away', () => {
      const tenant = aTenant();
      const page = renderHome(buildStatus(aRequest(tenant), tenant, [], aUsage(tenant)));
      expect(page.html).toContain('<details><summary>Setup checklist</summary>');
      expect(textOf(page.html)).not.toContain('Fix “app not linked”');
    });
  });

  describe('an integration that is not linked', () => {
    it('an unknown tenant gets a 404 page with the fix for "app not linked"', () => {
      // when
      const page = renderHome(buildStatus({ tenantId: 'nobody', now: NOW, urls: URLS }, undefined));
      // then
      const text = textOf(page.html);
      expect(page.statusCode).toBe(404);
      expect(page.html).toMatch(/^<!doctype html>/);
      expect(text).toContain('App not linked');
      expect(text).toContain('No Flashduty integration nobody is linked here');
      expect(text).toContain('Fix “app not linked”');
      for (const needed of [
        'CorpId',
        'AgentId',
        'Client ID',
        'Client Secret',
        'HTTP Push',
        'Encryption aes_key',
        'Signature Token',
        'Event Subscription Request URL to the one in the Flashduty integration details, then save',
        'Group chat name is changed',
        'Install the cool application in the group',
        'Uninstall the cool application in the group',
        'Application Homepage URL and PC Homepage URL to the homepage URL in the Flashduty integration details, then save',
        'qyapi_chat_manage',
        'qyapi_robot_sendmsg',
        'qyapi_get_member_by_mobile',
        'Visible Scope to all employees and publish',
      ]) {
        expect(text).toContain(needed);
      }
      expect(text).not.toContain('Usage in');
      expect(text).not.toContain('Groups with the cool app');
      // the unknown id may be a typo: no URL is suggested from it
      expect(text).not.toContain('for this integration:');
    });

    it('an organisation other than the linked one is told so, without the linked org\'s groups or usage', () => {
      // given
      const tenant = aTenant({ corpId: 'dingLINKED' });
      // when
      const page = renderHome(buildStatus(aRequest(tenant, { corpId: 'dingOTHER' }), tenant, [aGroup({ title: 'Private war room' })], aUsage(tenant)));
      // then
      const text = textOf(page.html);
      expect(page.statusCode).toBe(200);
      expect(text).toContain('App not linked');
      expect(text).toContain(`This DingTalk organisation (dingOTHER) is not the one linked to Flashduty integration ${tenant.tenantId}, which is linked to dingLINKED`);
      expect(text).toContain('Fix “app not linked”');
      expect(text).toContain(`Event Subscription Request URL to the one in the Flashduty integration details (for this integration: ${URLS.callback})`);
      expect(text).toContain(`PC Homepage URL to the homepage URL in the Flashduty integration details (for this integration: ${URLS.homepage})`);
      expect(text).not.toContain('Private war room');
      expect(text).not.toContain('Usage in');
      expect(text).not.toContain(tenant.clientId);
    });

    it('the same corpId as the linked one is simply linked', () => {
      const tenant = aTenant({ corpId: 'dingSAME' });
      const page = renderHome(buildStatus(aRequest(tenant, { corpId: ' dingSAME ' }), tenant, [], aUsage(tenant)));
      expect(textOf(page.html)).toContain('Linked');
      expect(textOf(page.html)).not.toContain('not linked');
    });
  });

  describe('escaping', () => {
    it('a group title with markup renders as text, never as markup', () => {
      // given
      const tenant = aTenant();
      const title = '<script>alert(1)</script><img src=x onerror="alert(2)">';
      // when
      const page = renderHome(buildStatus(aRequest(tenant), tenant, [aGroup({ title })], aUsage(tenant)));
      // then
      expect(page.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&quot;alert(2)&quot;&gt;');
      expect(page.html).not.toMatch(/<script/i);
      expect(page.html).not.toMatch(/<img/i);
      expect(textOf(page.html)).toContain(title);
    });

    it('a hostile corpId or tenant id from the URL renders as text', () => {
      const tenant = aTenant();
      const corpId = '"><script>alert(document.cookie)</script>';
      const mismatch = renderHome(buildStatus(aRequest(tenant, { corpId }), tenant));
      const unknown = renderHome(buildStatus({ tenantId: '<b onmouseover=alert(1)>x</b>', now: NOW }, undefined));
      for (const page of [mismatch, unknown]) {
        expect(page.html).not.toMatch(/<script|<b /i);
      }
      expect(textOf(mismatch.html)).toContain(`This DingTalk organisation (${corpId})`);
    });

    it('error messages are escaped too', () => {
      const page = renderError(400, '<i>bad</i> & worse');
      expect(page.statusCode).toBe(400);
      expect(page.html).toContain('&lt;i&gt;bad&lt;/i&gt; &amp; worse');
      expect(textOf(page.html)).toContain('Error 400');
    });

    it('html`` escapes every interpolated value and nests without double escaping', () => {
      expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;');
      const inner = html`<b>${'a&b'}</b>`;
      expect(html`<p title="${'"x"'}">${inner}${['<', 1, null, undefined, false]}</p>`.value).toBe('<p title="&quot;x&quot;"><b>a&amp;b</b>&lt;1</p>');
    });
  });

  describe('secrets', () => {
    it('no page ever contains the client secret, aes_key or token', () => {
      // given
      const tenant = aTenant({ corpId: 'dingcorp7' });
      const pages = [
        renderHome(buildStatus(aRequest(tenant), tenant, [aGroup()], aUsage(tenant))),
        renderHome(buildStatus(aRequest(tenant, { corpId: 'dingother' }), tenant)),
      ];
      // then
      for (const page of pages) for (const secret of secretsOf(tenant)) expect(page.html).not.toContain(secret);
    });

    it('the view model itself carries no credential field', () => {
      const tenant = aTenant();
      const status = buildStatus(aRequest(tenant), tenant, [aGroup()], aUsage(tenant));
      const serialized = JSON.stringify(status);
      for (const secret of secretsOf(tenant)) expect(serialized).not.toContain(secret);
      expect(Object.keys(status.org!).sort()).toEqual(['agentId', 'clientId', 'corpId', 'edition', 'monthlyQuota', 'qps']);
    });
  });

  describe('the HTTP response', () => {
    it('is UTF-8 HTML, not cached, with a CSP that allows no script and only the hashed stylesheet', () => {
      const tenant = aTenant();
      const res = htmlResponse(renderHome(buildStatus(aRequest(tenant), tenant)));
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-store');
      const csp = res.headers['content-security-policy'];
      expect(csp).toBe(CONTENT_SECURITY_POLICY);
      expect(csp).toContain("default-src 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).not.toContain('script-src');
      const hash = createHash('sha256').update(STYLE).digest('base64');
      expect(csp).toContain(`style-src 'sha256-${hash}'`);
      expect(res.body).toContain(`<style>${STYLE}</style>`);
      expect(res.body).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
      expect(res.body).not.toMatch(/ style="/);
    });
  });
});
