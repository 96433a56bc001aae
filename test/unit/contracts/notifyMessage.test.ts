import { aNotify as aValidNotify, fixture } from '../../support/factories';
import { MAX_BUTTONS, parseNotifyMessage } from '../../../lib/contracts/notifyMessage';


/** A valid v1 notify message (tenant acme, id fd-1); override any top-level field, valid or not. */
const aNotify = (over: Record<string, unknown> = {}) => ({ ...aValidNotify({ tenantId: 'acme' }, { id: 'fd-1', message: { title: 'DB down', markdown: '## DB down' } }), ...over });

const issuesOf = (input: unknown): string[] => {
  const r = parseNotifyMessage(input);
  expect(r.ok).toBe(false);
  return r.ok ? [] : r.issues;
};

describe('notify contract v1', () => {
  it.each(['notify-users.json', 'notify-group.json', 'notify-mixed.json', 'notify-incident.json'])('the README example %s is valid', (name) => {
    expect(parseNotifyMessage(JSON.stringify(fixture(name))).ok).toBe(true);
  });

  it('a valid message comes back typed, its markdown untouched (not trimmed)', () => {
    // given
    const markdown = '  \n### 告警\n正文 \n';
    // when
    const r = parseNotifyMessage(aNotify({ message: { title: ' t ', markdown } }));
    // then
    expect(r.ok && r.message.kind === 'notify' && r.message.message.markdown).toBe(markdown);
  });

  it('a message with no recipient at all is refused with a clear reason', () => {
    expect(issuesOf(aNotify({ to: {} }))).toEqual(['to: at least one of userIds, mobiles, openConversationIds, memberIds must be non-empty']);
    expect(issuesOf(aNotify({ to: { userIds: [], mobiles: [] } }))[0]).toContain('at least one of');
  });

  it('a misspelt key is an error, not an empty list', () => {
    expect(issuesOf(aNotify({ to: { userIDs: ['u1'] } })).join('\n')).toContain('Unrecognized key: "userIDs"');
  });

  it('an unknown version or kind is refused before the fields are looked at', () => {
    const v2 = parseNotifyMessage(aNotify({ version: 2 }));
    expect(v2).toMatchObject({ ok: false, id: 'fd-1', tenantId: 'acme' });
    expect(!v2.ok && v2.reason).toBe('unsupported version 2 (this sender reads version 1)');
    expect(!parseNotifyMessage(aNotify({ kind: 'page' })).ok && issuesOf(aNotify({ kind: 'page' }))[0]).toContain('unknown kind "page"');
  });

  it('a body that is not JSON is refused', () => {
    expect(parseNotifyMessage('<html>')).toMatchObject({ ok: false, reason: 'body is not JSON' });
    expect(parseNotifyMessage('[1]')).toMatchObject({ ok: false, reason: 'body is not a JSON object' });
  });

  it('every bad field is listed with its path', () => {
    // given
    const bad = aNotify({
      id: '',
      severity: 'fatal',
      message: { title: '', markdown: '   ', url: 'ftp://x', buttons: Array.from({ length: MAX_BUTTONS + 1 }, () => ({ title: 'b', url: 'https://x.y' })) },
    });
    // when
    const issues = issuesOf(bad).join('\n');
    // then
    for (const path of ['id:', 'severity:', 'message.title:', 'message.markdown:', 'message.url:', 'message.buttons:']) expect(issues).toContain(path);
  });

  it('mobiles must look like phone numbers', () => {
    expect(issuesOf(aNotify({ to: { mobiles: ['138-0000-0001', 'call me'] } }))).toEqual(['to.mobiles.1: must be a mobile number (digits, optional leading + and -)']);
  });

  it('war_room.create validates its own fields', () => {
    const ok = parseNotifyMessage({ version: 1, id: 'w1', tenantId: 'acme', kind: 'war_room.create', incident: { id: 'i1', title: 'DB down' }, ownerMobile: '13800000001', memberMobiles: [] });
    expect(ok.ok).toBe(true);
    expect(issuesOf({ version: 1, id: 'w1', tenantId: 'acme', kind: 'war_room.create', incident: { id: 'i1' }, memberMobiles: [] }).join('\n')).toMatch(/incident\.title[\s\S]*ownerMobile/);
  });
});
