import { aNotify as aValidNotify } from '../../support/factories';
import { parseNotifyMessage } from '../../../lib/contracts/notifyMessage';
import { parseActionsMessage } from '../../../lib/contracts/actionsMessage';

const base = { version: 1, id: 'fd-9', tenantId: 'acme' };
const aNotify = (over: Record<string, unknown> = {}) => ({ ...aValidNotify({ tenantId: 'acme' }, { id: 'fd-1' }), ...over });
const reasonOf = (input: unknown): string => {
  const r = parseNotifyMessage(input);
  return r.ok ? 'ok' : r.reason;
};

describe('notify contract v1 additions (issue 16)', () => {
  it('a page about an incident with buttons is valid and comes back typed', () => {
    const r = parseNotifyMessage(aNotify({ incident: { id: '69da451ef77b1b51f40e83ee', status: 'triggered', url: 'https://console.flashcat.cloud/i/1' }, actions: ['ack', 'close', 'snooze'] }));
    expect(r.ok && r.message.kind === 'notify' && r.message.actions).toEqual(['ack', 'close', 'snooze']);
  });

  it('buttons without an incident, an unknown button, a repeated button or an unknown status are refused', () => {
    expect(reasonOf(aNotify({ actions: ['ack'] }))).toContain('actions need incident');
    expect(reasonOf(aNotify({ incident: { id: 'i1', status: 'triggered' }, actions: ['reopen'] }))).toContain('actions.0');
    expect(reasonOf(aNotify({ incident: { id: 'i1', status: 'triggered' }, actions: ['ack', 'ack'] }))).toContain('each at most once');
    expect(reasonOf(aNotify({ incident: { id: 'i1', status: 'Processing' } }))).toContain('incident.status');
  });

  it('Flashduty member ids address a page on their own; anything but digits is refused', () => {
    expect(reasonOf(aNotify({ to: { memberIds: ['2476444212131'] } }))).toBe('ok');
    expect(reasonOf(aNotify({ to: { memberIds: ['alice'] } }))).toContain('memberId must be a Flashduty member id');
    expect(reasonOf(aNotify({ to: { memberIds: Array.from({ length: 1001 }, (_, i) => String(i + 1)) } }))).toContain('memberIds: at most 1000');
    expect(reasonOf(aNotify({ incident: { id: 'x'.repeat(65), status: 'triggered' } }))).toContain('incident.id: at most 64');
  });

  it('incident.update, war_room.update and war_room.dismiss are kinds of their own, checked strictly', () => {
    expect(reasonOf({ ...base, kind: 'incident.update', incident: { id: 'i1', status: 'acknowledged' }, by: { name: '张三', memberId: '2476444212131' } })).toBe('ok');
    expect(reasonOf({ ...base, kind: 'incident.update', incident: { id: 'i1' } })).toContain('incident.status');
    expect(reasonOf({ ...base, kind: 'war_room.update', incident: { id: 'i1' }, memberMobiles: ['13800000001'] })).toBe('ok');
    expect(reasonOf({ ...base, kind: 'war_room.update', incident: { id: 'i1' } })).toContain('at least one of memberMobiles, memberIds');
    expect(reasonOf({ ...base, kind: 'war_room.dismiss', incident: { id: 'i1' } })).toBe('ok');
    expect(reasonOf({ ...base, kind: 'war_room.dismiss', incident: { id: 'i1' }, members: [] })).toContain('Unrecognized key');
  });
});

describe('actions contract v1', () => {
  const press = { ...base, at: '2026-11-30T03:00:00.000Z', incidentId: 'i1', action: 'ack', by: { dingtalkUserId: 'u1', memberId: '2476444212131' } };

  it('a press and a link are valid', () => {
    expect(parseActionsMessage(JSON.stringify(press)).ok).toBe(true);
    expect(parseActionsMessage({ ...base, at: press.at, action: 'member.link', by: { dingtalkUserId: 'u1', memberId: '1' } }).ok).toBe(true);
  });

  it('snooze needs 1-1440 minutes, and only snooze carries them; a link needs the member', () => {
    expect(parseActionsMessage({ ...press, action: 'snooze' })).toMatchObject({ ok: false, reason: expect.stringContaining('snoozeMinutes is required') });
    expect(parseActionsMessage({ ...press, action: 'snooze', snoozeMinutes: 1441 }).ok).toBe(false);
    expect(parseActionsMessage({ ...press, action: 'snooze', snoozeMinutes: 720 }).ok).toBe(true);
    expect(parseActionsMessage({ ...press, snoozeMinutes: 120 }).ok).toBe(false);
    expect(parseActionsMessage({ ...base, at: press.at, action: 'member.link', by: { dingtalkUserId: 'u1' } }).ok).toBe(false);
    expect(parseActionsMessage('not json')).toEqual({ ok: false, reason: 'body is not JSON' });
  });
});
