import { runNotifyCli } from '../../../lib/cli/notify';
import { putLink } from '../../../lib/store/links';
import { aNotify, statuses, useWorld } from '../../support/world';

/**
 * `notify.to.memberIds` (docs/two-way.md, "Contract v1 additions"): members are resolved through
 * their links to DingTalk users; an unlinked member is reported `unlinked` in the status, while
 * everyone else is delivered. The sender runs as under `npm start` (the local poller).
 */

const w = useWorld({ poller: true });

const settled = (tenantId: string, id: string) =>
  w.until(async () => {
    const o = await w.outcome(tenantId, id);
    return o.message?.state === 'done' ? o : undefined;
  });

describe('notify to Flashduty members', () => {
  it('reaches the linked members’ DingTalk users once each, and reports the unlinked one', async () => {
    // given: two linked members, one of them also named by userId; one member never linked
    const tenant = await w.aTenantWith({ users: [{ userId: 'manager4220' }, { userId: 'dev0042' }, { userId: 'ops7' }] });
    const linkedAt = new Date().toISOString();
    await putLink(w.table, tenant.tenantId, { memberId: '1001', userId: 'manager4220', name: '张三', linkedAt });
    await putLink(w.table, tenant.tenantId, { memberId: '1002', userId: 'dev0042', linkedAt });
    const msg = aNotify(tenant, { to: { memberIds: ['1001', '1002', '1003', '1001'], userIds: ['dev0042', 'ops7'] } });
    // when
    await w.send(msg);
    const o = await settled(tenant.tenantId, msg.id);
    // then: each user got exactly one DM; the unlinked member none, and the record says why
    expect(w.sim.messages().map((m) => m.to).sort()).toEqual(['dev0042', 'manager4220', 'ops7']);
    expect(statuses(o)).toEqual({
      'member 1001': 'resolved',
      'member 1002': 'resolved',
      'member 1003': 'unlinked',
      'user manager4220': 'sent',
      'user dev0042': 'sent',
      'user ops7': 'sent',
    });
    const unlinked = o.recipients.find((r) => r.channel === 'member' && r.to === '1003')!;
    expect(unlinked.message).toBe(`member 1003 has not linked DingTalk: send them \`npm run tenant -- link-url ${tenant.tenantId} 1003\``);
    expect(o.recipients.find((r) => r.to === '1001')?.userId).toBe('manager4220');

    // and the operator's status command shows it
    const out: string[] = [];
    expect(await runNotifyCli(['status', tenant.tenantId, msg.id], { out: (l) => out.push(l), err: () => undefined, table: w.table })).toBe(0);
    expect(out.join('\n')).toContain('"status": "unlinked"');
  });

  it('a message to unlinked members only is done, nothing sent, each member reported', async () => {
    const tenant = await w.aTenantWith({ users: [{ userId: 'manager4220' }] });
    const msg = aNotify(tenant, { to: { memberIds: ['2001', '2002'] } });
    await w.send(msg);
    const o = await settled(tenant.tenantId, msg.id);
    expect(w.sim.messages()).toEqual([]);
    expect(w.calls('batchSend')).toEqual([]);
    expect(statuses(o)).toEqual({ 'member 2001': 'unlinked', 'member 2002': 'unlinked' });
  });
});
