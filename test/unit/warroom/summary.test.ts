import { renderWarRoomSummary } from '../../../lib/warroom/summary';

describe('the incident summary posted in a new war room', () => {
  it('has the title, the incident link and a "View in Flashduty" button', () => {
    // when
    const r = renderWarRoomSummary({ incident: { id: 'inc-6621', title: '[P1] 支付服务错误率 > 5%', url: 'https://console.flashcat.cloud/incident/detail/6621' }, severity: 'critical' });
    // then
    const p = JSON.parse(r.msgParam);
    expect(r.msgKey).toBe('sampleActionCard');
    expect(p.title).toBe('[P1] 支付服务错误率 > 5%');
    expect(p.text).toContain('[inc-6621](https://console.flashcat.cloud/incident/detail/6621)');
    expect(p.text).toContain('Severity: Critical');
    expect(p).toMatchObject({ singleTitle: 'View in Flashduty', singleURL: 'https://console.flashcat.cloud/incident/detail/6621' });
  });

  it('without an incident URL it is plain markdown, without a button', () => {
    const r = renderWarRoomSummary({ incident: { id: 'inc-1', title: 'DB down' } });
    expect(r.msgKey).toBe('sampleMarkdown');
    expect(JSON.parse(r.msgParam).text).toContain('Incident: inc-1');
  });
});
