import { buildStatus, renderHome } from '../../../lib/homepage';
import { aTenant } from '../../support/factories';
import { aRequest, aUsage, textOf } from '../../support/homepage';

/** The homepage, opened inside DingTalk, tells a member how to link their account (docs/two-way.md, "Linking"). */
describe('the homepage link hint', () => {
  it.each([
    ['en', 'To act on incidents from DingTalk, link your Flashduty account: open the link Flashduty sent you.'],
    ['zh-CN', '如需在钉钉中处理故障，请关联你的 Flashduty 账号：打开 Flashduty 发给你的链接。'],
  ] as const)('a linked integration shows it (%s)', (locale, hint) => {
    const tenant = aTenant();
    expect(textOf(renderHome(buildStatus(aRequest(tenant), tenant, [], aUsage(tenant)), locale).html)).toContain(hint);
  });

  it('an unknown integration does not (there is nothing to link to)', () => {
    const page = renderHome(buildStatus(aRequest({ tenantId: 'nobody' }), undefined, [], undefined), 'en');
    expect(textOf(page.html)).not.toContain('link your Flashduty account');
  });
});
