import { renderWarRoomSummary } from '../../../lib/warroom/summary';

const INCIDENT = { id: 'inc-6621', title: '[P1] 支付服务错误率 > 5%', url: 'https://console.flashcat.cloud/incident/detail/6621' };
const param = (r: { msgParam: string }) => JSON.parse(r.msgParam) as Record<string, string>;

describe('the incident summary posted in a new war room', () => {
  it('is in Chinese for a tenant without a locale: the title, the incident link, the severity and a "在 Flashduty 中查看" button', () => {
    // when
    const r = renderWarRoomSummary({ incident: INCIDENT, severity: 'critical' });
    // then
    const p = param(r);
    expect(r.msgKey).toBe('sampleActionCard');
    expect(p.title).toBe('[P1] 支付服务错误率 > 5%');
    expect(p.text).toBe(
      '### 🚨 [P1] 支付服务错误率 > 5%\n\n- 故障：[inc-6621](https://console.flashcat.cloud/incident/detail/6621)\n- 严重程度：严重\n\n这是 Flashduty 为该故障创建的作战室，请在此协同处理。',
    );
    expect(p).toMatchObject({ singleTitle: '在 Flashduty 中查看', singleURL: INCIDENT.url });
    expect(param(renderWarRoomSummary({ incident: INCIDENT, severity: 'critical' }, 'zh-CN'))).toEqual(p);
  });

  it('is in English for a tenant whose locale is en', () => {
    const p = param(renderWarRoomSummary({ incident: INCIDENT, severity: 'warning' }, 'en'));
    expect(p.text).toContain('- Incident: [inc-6621](https://console.flashcat.cloud/incident/detail/6621)');
    expect(p.text).toContain('- Severity: Warning');
    expect(p.text).toContain('This war room was opened by Flashduty for the incident');
    expect(p.text).not.toMatch(/故障|严重程度|作战室/);
    expect(p).toMatchObject({ singleTitle: 'View in Flashduty', singleURL: INCIDENT.url });
  });

  it.each([
    ['critical', '严重'],
    ['warning', '警告'],
    ['info', '提醒'],
  ] as const)('names severity %s as Flashduty does in Chinese (%s)', (severity, name) => {
    expect(param(renderWarRoomSummary({ incident: INCIDENT, severity })).text).toContain(`- 严重程度：${name}\n`);
  });

  it('without an incident URL it is plain markdown, without a button, in either language', () => {
    const zh = renderWarRoomSummary({ incident: { id: 'inc-1', title: 'DB down' } });
    const en = renderWarRoomSummary({ incident: { id: 'inc-1', title: 'DB down' } }, 'en');
    expect([zh.msgKey, en.msgKey]).toEqual(['sampleMarkdown', 'sampleMarkdown']);
    expect(param(zh).text).toContain('- 故障：inc-1\n');
    expect(param(zh).text).not.toContain('严重程度');
    expect(param(en).text).toContain('- Incident: inc-1\n');
  });
});
