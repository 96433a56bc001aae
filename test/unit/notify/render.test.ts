import { MAX_MSG_PARAM_BYTES, render, truncateForJson } from '../../../lib/notify/render';

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
const param = (r: { msgParam: string }) => JSON.parse(r.msgParam) as Record<string, string>;

describe('render', () => {
  it('a message without links is sampleMarkdown, body byte-exact', () => {
    const markdown = '### 支付服务错误率 > 5%\n- 负责人: 张三 👩‍💻\n"quoted" \\ back\tslash';
    const r = render({ title: '告警', markdown });
    expect(r.msgKey).toBe('sampleMarkdown');
    expect(param(r)).toEqual({ title: '告警', text: markdown });
    expect(r.truncated).toBe(false);
    expect(r.bytes).toBe(bytes(r.msgParam));
  });

  it('a url alone becomes a one-button action card to Flashduty, labelled in Chinese unless the tenant chose English', () => {
    const url = 'https://fd.example/i/1';
    const byDefault = render({ title: 't', markdown: 'm', url });
    expect(byDefault.msgKey).toBe('sampleActionCard');
    expect(param(byDefault)).toEqual({ title: 't', text: 'm', singleTitle: '在 Flashduty 中查看', singleURL: url });
    expect(param(render({ title: 't', markdown: 'm', url }, { locale: 'zh-CN' })).singleTitle).toBe('在 Flashduty 中查看');
    expect(param(render({ title: 't', markdown: 'm', url }, { locale: 'en' })).singleTitle).toBe('View in Flashduty');
  });

  it('one button is a sampleActionCard with that button', () => {
    const r = render({ title: 't', markdown: 'm', url: 'https://fd.example/i/1', buttons: [{ title: '认领', url: 'https://fd.example/ack' }] });
    expect(param(r)).toMatchObject({ singleTitle: '认领', singleURL: 'https://fd.example/ack' });
  });

  it.each([2, 3, 4, 5])('%i buttons are sampleActionCard%i with actionTitleN/actionURLN', (n) => {
    const buttons = Array.from({ length: n }, (_, i) => ({ title: `b${i + 1}`, url: `https://fd.example/${i + 1}` }));
    const r = render({ title: 't', markdown: 'm', buttons });
    expect(r.msgKey).toBe(`sampleActionCard${n}`);
    const p = param(r);
    for (let i = 1; i <= n; i++) expect([p[`actionTitle${i}`], p[`actionURL${i}`]]).toEqual([`b${i}`, `https://fd.example/${i}`]);
  });

  it('a body that just fits is not touched', () => {
    const overhead = bytes(JSON.stringify({ title: 't', text: '' }));
    const markdown = 'x'.repeat(MAX_MSG_PARAM_BYTES - overhead);
    const r = render({ title: 't', markdown });
    expect(r).toMatchObject({ truncated: false, bytes: MAX_MSG_PARAM_BYTES });
  });

  describe('an oversized body', () => {
    const url = 'https://fd.example/incident/6621';

    it('a Chinese body is cut between characters, ends with the link, and fits', () => {
      // given: 3-byte characters, far over the limit
      const markdown = '告警详情：数据库连接池耗尽。'.repeat(2000);
      // when
      const r = render({ title: '[P1] 告警', markdown, url });
      // then
      const text = param(r).text;
      expect(r.truncated).toBe(true);
      expect(r.bytes).toBeLessThanOrEqual(MAX_MSG_PARAM_BYTES);
      expect(r.bytes).toBeGreaterThan(MAX_MSG_PARAM_BYTES - 100);
      expect(text).not.toContain('\uFFFD');
      expect(text.endsWith(`\n\n…\n\n[在 Flashduty 中查看](${url})`)).toBe(true);
      const kept = text.slice(0, text.indexOf('\n\n…'));
      expect(markdown.startsWith(kept)).toBe(true);
      expect(Buffer.from(kept, 'utf8').toString('utf8')).toBe(kept);
    });

    it('an English tenant gets the English link, and the body still fits', () => {
      const markdown = 'connection pool exhausted. '.repeat(1000);
      const r = render({ title: 't', markdown, url }, { maxBytes: 2000, locale: 'en' });
      expect(param(r).text.endsWith(`\n\n…\n\n[View in Flashduty](${url})`)).toBe(true);
      expect(r.bytes).toBeLessThanOrEqual(2000);
      expect(r.bytes).toBeGreaterThan(1990);
    });

    it('an emoji (surrogate pair) is never split', () => {
      const markdown = '🔥'.repeat(10_000);
      const r = render({ title: 't', markdown }, { maxBytes: 1001 });
      const kept = param(r).text.replace(/\n\n…$/, '');
      expect([...kept].every((c) => c === '🔥')).toBe(true);
      expect(r.bytes).toBeLessThanOrEqual(1001);
    });

    it('characters JSON escapes (quotes, newlines, control characters) are counted as escaped', () => {
      const markdown = '"\n\u0001'.repeat(5000);
      const r = render({ title: 't', markdown, url }, { maxBytes: 2000 });
      expect(r.bytes).toBeLessThanOrEqual(2000);
      expect(r.bytes).toBeGreaterThan(1990);
    });

    it('a code block left open by the cut is closed before the link', () => {
      const markdown = `intro\n\`\`\`\n${'log line\n'.repeat(5000)}\`\`\`\n`;
      const text = param(render({ title: 't', markdown, url }, { maxBytes: 3000, locale: 'en' })).text;
      expect(text).toMatch(/\n```\n\n…\n\n\[View in Flashduty\]\(https:\/\/fd\.example\/incident\/6621\)$/);
    });

    it('without a url the first button is linked; without either, just "…"', () => {
      const big = 'a'.repeat(20_000);
      expect(param(render({ title: 't', markdown: big, buttons: [{ title: 'b', url: 'https://b.example' }] })).text).toMatch(/\(https:\/\/b\.example\)$/);
      expect(param(render({ title: 't', markdown: big })).text.endsWith('a\n\n…')).toBe(true);
    });
  });
});

describe('truncateForJson', () => {
  it.each([
    ['告警告警', 7, '告警'],
    ['ab告', 4, 'ab'],
    ['ab告', 5, 'ab告'],
    ['a"b', 2, 'a'],
    ['a"b', 3, 'a"'],
    ['👍x', 3, ''],
    ['👍x', 4, '👍'],
  ])('%j in %i bytes -> %j', (text, max, want) => {
    expect(truncateForJson(text, max)).toBe(want);
  });
});
