import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runNotifyCli } from '../../../lib/cli/notify';
import { runSimCli } from '../../../lib/cli/sim';
import { cardOutTrackId } from '../../../lib/cards/outTrackId';
import type { SimControlCard } from '../../../lib/contracts/simControl';
import { listLinks } from '../../../lib/store/links';
import { createTable } from '../../../lib/store/table';
import { putTenant } from '../../../lib/store/tenants';
import { startLocalStack, type LocalStack } from '../../../infra/local/stack';
import { aTenant } from '../../support/factories';

/**
 * `npm run sim` against the local stack of `npm start` (docs/two-way.md): link a member, see the
 * card the bridge sent them, press its button, and see the Flashduty simulator record the action,
 * each step through the CLI and the simulators' loopback control server.
 */

const INCIDENT = '69da451ef77b1b51f40e83ee'; // Triggered in the Flashduty simulator's seed
const MEMBER = '2476444212131'; // a member of the seed's account
const TEMPLATE = 'tpl.sim-cli';

describe('npm run sim on the local stack', () => {
  let stack: LocalStack;
  const dir = mkdtempSync(join(tmpdir(), 'sim-cli-'));
  const envFile = join(dir, 'stack.env');

  beforeAll(async () => {
    stack = await startLocalStack({ port: 0, tableName: `simcli-${process.pid}`, envFile });
  });
  afterAll(async () => stack?.stop());

  async function sim(...args: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runSimCli(['--local', ...args], { envFile, out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  async function until<T>(what: string, read: () => Promise<T | undefined>): Promise<T> {
    for (let i = 0; i < 150; i++) {
      const v = await read();
      if (v !== undefined) return v;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  it('writes the control URL to the env file, and its index says it is local-only', async () => {
    expect(stack.env.SIMULATOR_CONTROL_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const index = (await (await fetch(`${stack.env.SIMULATOR_CONTROL_URL}/_sim`)).json()) as { localOnly: boolean };
    expect(index.localOnly).toBe(true);
  });

  it('links a member, lists the card the bridge sent them, presses Acknowledge then Snooze, and Flashduty records both', async () => {
    const table = createTable(stack.env.TABLE_NAME);
    const tenant = await putTenant(table, aTenant({ cardTemplateId: TEMPLATE, actionsVia: 'api', flashdutyAppKey: 'fd-local-app-key', locale: 'en' }));
    const dt = stack.simulator!;
    dt.addApp({ clientId: tenant.clientId, clientSecret: tenant.clientSecret, corpId: tenant.corpId, qps: 1000, monthlyQuota: 100_000 });
    dt.addUser(tenant.corpId, { userId: 'oncall01', name: 'On Call' });
    dt.addUser(tenant.corpId, { userId: 'bystander' });
    dt.addCardTemplate(tenant.clientId, { templateId: TEMPLATE });

    // 1. link: the link page's flow, auth code included.
    const linked = await sim('link', tenant.tenantId, MEMBER, 'oncall01');
    expect(linked).toMatchObject({ code: 0 });
    expect(JSON.parse(linked.out)).toEqual({ linked: true, name: 'On Call' });
    expect(await listLinks(table, tenant.tenantId)).toEqual([expect.objectContaining({ memberId: MEMBER, userId: 'oncall01' })]);

    // 2. a page about the incident to the member: one card in their DM.
    const msg = {
      version: 1, id: `sim-cli-${Date.now()}`, tenantId: tenant.tenantId, kind: 'notify', severity: 'critical',
      to: { memberIds: [MEMBER] }, message: { title: 'CPU usage high - web-server-01', markdown: 'CPU over 90 %' },
      incident: { id: INCIDENT, status: 'triggered' }, actions: ['ack', 'close', 'snooze'],
    };
    const file = join(dir, 'notify.json');
    writeFileSync(file, JSON.stringify(msg));
    expect(await runNotifyCli([file], { out: () => undefined, err: () => undefined })).toBe(0);
    const outTrackId = cardOutTrackId(tenant.tenantId, msg.id, 'user', 'oncall01');
    const card = await until('the card', async () => {
      const r = await sim('cards');
      expect(r.code).toBe(0);
      return (JSON.parse(r.out) as SimControlCard[]).find((c) => c.outTrackId === outTrackId);
    });
    expect(card.spaces).toEqual([{ spaceType: 'IM_ROBOT', spaceId: 'oncall01', success: true }]);
    expect(Object.keys(card.seenBy)).toEqual(['oncall01']);
    expect(card.seenBy.oncall01).toMatchObject({ status: 'triggered', showAck: 'true', showSnooze: 'true' });

    // Someone who cannot see the card cannot press it.
    expect(await sim('press', outTrackId, 'bystander', 'ack')).toMatchObject({ code: 1, err: expect.stringContaining('cannot see') });
    expect(stack.flashduty!.actions()).toEqual([]);

    // 3. the press: DingTalk's signed callback, the bridge's answer as DingTalk got it.
    const pressed = await sim('press', outTrackId, 'oncall01', 'ack');
    expect(pressed.code).toBe(0);
    expect(JSON.parse(pressed.out)).toMatchObject({ status: 200 });
    const [seen] = JSON.parse((await sim('cards', outTrackId)).out) as SimControlCard[];
    expect(seen.seenBy.oncall01).toMatchObject({ notice: 'Acknowledging…' });

    // 4. Flashduty records the ack; the incident is Processing; the card follows.
    const fd = await until('the ack in Flashduty', async () => {
      const r = JSON.parse((await sim('flashduty', INCIDENT)).out) as { actions: Array<{ api: string }>; incident: { progress: string } };
      return r.actions.length ? r : undefined;
    });
    expect(fd.actions).toEqual([expect.objectContaining({ api: 'ack', incidentIds: [INCIDENT] })]);
    expect(fd.incident.progress).toBe('Processing');
    const all = JSON.parse((await sim('flashduty')).out) as { actions: unknown[] };
    expect(all.actions).toHaveLength(1);
    const updated = await until('the card updated', async () => {
      const [c] = JSON.parse((await sim('cards', outTrackId)).out) as SimControlCard[];
      return c.seenBy.oncall01.status === 'acknowledged' ? c : undefined;
    });
    expect(updated.seenBy.oncall01).toMatchObject({ showAck: 'false' });

    // 5. Snooze, now that it is acknowledged: the minutes reach Flashduty as pressed.
    expect((await sim('press', outTrackId, 'oncall01', 'snooze', '--minutes', '240')).code).toBe(0);
    const snoozed = await until('the snooze in Flashduty', async () => {
      const r = JSON.parse((await sim('flashduty', INCIDENT)).out) as { actions: Array<{ api: string; minutes?: number }> };
      return r.actions.some((a) => a.api === 'snooze') ? r.actions : undefined;
    });
    expect(snoozed.filter((a) => a.api === 'snooze')).toEqual([expect.objectContaining({ api: 'snooze', minutes: 240 })]);
  });

  it('issues an auth code for a user of a tenant, and refuses one outside the organisation', async () => {
    const table = createTable(stack.env.TABLE_NAME);
    const tenant = await putTenant(table, aTenant());
    stack.simulator!.addApp({ clientId: tenant.clientId, clientSecret: tenant.clientSecret, corpId: tenant.corpId, qps: 100, monthlyQuota: 10_000 });
    stack.simulator!.addUser(tenant.corpId, { userId: 'coder' });
    const r = await sim('auth-code', tenant.tenantId, 'coder');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^[0-9a-f]{32}$/);
    expect(await sim('auth-code', tenant.tenantId, 'stranger')).toMatchObject({ code: 1, err: expect.stringContaining('no user stranger') });
    expect(await sim('auth-code', 'nobody', 'coder')).toMatchObject({ code: 1, err: 'no tenant nobody' });
  });

  it("shows a group of the tenant's organisation: members and whether it is disbanded", async () => {
    const table = createTable(stack.env.TABLE_NAME);
    const tenant = await putTenant(table, aTenant());
    stack.simulator!.addGroup(tenant.corpId, { openConversationId: 'cidSimCli==', members: ['a1', 'a2'], disbanded: true });
    const r = await sim('group', tenant.tenantId, 'cidSimCli==');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({ members: ['a1', 'a2'], disbanded: true });
    expect(await sim('group', tenant.tenantId, 'cidNone==')).toMatchObject({ code: 1, err: expect.stringContaining('no group cidNone==') });
  });

  it('refuses bad arguments with the usage (exit 2)', async () => {
    expect(await sim('press', 'card', 'user', 'reopen')).toMatchObject({ code: 2, err: expect.stringContaining('ack, close, snooze') });
    expect(await sim('press', 'card', 'user', 'ack', '--minutes', '30')).toMatchObject({ code: 2, err: expect.stringContaining('snooze only') });
    expect(await sim('press', 'card', 'user', 'snooze', '--minutes', 'x')).toMatchObject({ code: 2 });
    expect(await sim('frobnicate')).toMatchObject({ code: 2, err: expect.stringContaining('usage: npm run sim') });
  });

  it('says the local stack is not running: no env file, or nothing answering at the control URL', async () => {
    const io = { out: () => undefined, err: (l: string) => errs.push(l) };
    const errs: string[] = [];
    expect(await runSimCli(['--local', 'cards'], { ...io, envFile: join(dir, 'missing.env') })).toBe(2);
    expect(errs.join('\n')).toContain('start the local stack first with "npm start"');

    const before = process.env.SIMULATOR_CONTROL_URL;
    const stale = join(dir, 'stale.env');
    const closed = await import('../../../infra/local/services').then((s) => s.freePort());
    writeFileSync(stale, `SIMULATOR_CONTROL_URL=http://127.0.0.1:${closed}\n`);
    try {
      errs.length = 0;
      expect(await runSimCli(['--local', 'cards'], { ...io, envFile: stale })).toBe(1);
      expect(errs.join('\n')).toMatch(/the local stack is not running .*ECONNREFUSED.*npm start/);
    } finally {
      if (before === undefined) delete process.env.SIMULATOR_CONTROL_URL;
      else process.env.SIMULATOR_CONTROL_URL = before;
    }
  });
});
