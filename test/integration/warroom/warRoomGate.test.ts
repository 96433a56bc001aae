import { createSender } from '../../../lib/sender/createSender';
import { DingTalkClient } from '../../../lib/dingtalk/client';
import { DingTalkError } from '../../../lib/dingtalk/errors';
import type { WarRoomCreateRequest } from '../../../lib/contracts/notifyMessage';
import { getWarRoom } from '../../../lib/store/warRooms';
import type { Tenant } from '../../../lib/contracts/tenant';
import { createWarRoomHandler, type WarRoomOptions } from '../../../lib/warroom';
import { aRecordingGate, useWorld, statuses } from '../../support/world';

/**
 * The war room on the sender core with its dependencies passed in: every DingTalk call it makes
 * passes the same CallGate as the sender's other calls (rate limiter, monthly counter), the wait
 * for the template's bot uses the injected sleep, and a refused or unfinished step is picked up by
 * the next attempt without a second group or a second summary.
 */

const w = useWorld();
let client: DingTalkClient;

beforeAll(() => {
  client = new DingTalkClient({ apiUrl: w.sim.url, oapiUrl: w.sim.oapiUrl, timeoutMs: 1000 });
});

const TEMPLATE = 'tpl-warroom-gate';
const BOT = 'dingwarroombotgate';
let seq = 0;
const people = (n: number) => Array.from({ length: n }, (_, i) => ({ userId: `g${i + 1}`, mobile: `1350000${String(i + 1).padStart(4, '0')}` }));

async function aWarRoomTenant(opts: { users?: Array<{ userId: string; mobile: string }>; installDelayMs?: number } = {}): Promise<Tenant> {
  const tenant = await w.aTenantWith({ users: opts.users ?? people(3), tenant: { warRoomTemplateId: TEMPLATE, warRoomBotId: BOT } });
  w.sim.addTemplate(tenant.corpId, { templateId: TEMPLATE, botId: BOT, installDelayMs: opts.installDelayMs ?? 0 });
  return tenant;
}

function aWarRoomRequest(tenant: Pick<Tenant, 'tenantId'>, users: Array<{ mobile: string }>, over: Partial<WarRoomCreateRequest> = {}): WarRoomCreateRequest {
  seq += 1;
  return {
    version: 1,
    id: `fd-wrg-${Date.now()}-${seq}`,
    tenantId: tenant.tenantId,
    kind: 'war_room.create',
    incident: { id: `inc-gate-${seq}`, title: `订单库复制延迟 #${seq}`, url: `https://console.flashcat.cloud/incident/detail/g${seq}` },
    ownerMobile: users[0].mobile,
    memberMobiles: users.slice(1).map((u) => u.mobile),
    ...over,
  };
}


function aSender(over: Partial<Parameters<typeof createSender>[0]> = {}, warRoom: WarRoomOptions = {}) {
  return createSender({
    table: w.table,
    sqs: w.sqs,
    client,
    dlqUrl: w.aws.notifyDlqUrl,
    queueUrl: w.aws.notifyQueueUrl,
    retry: { baseSeconds: 0 },
    handlers: { 'war_room.create': createWarRoomHandler(warRoom) },
    ...over,
  });
}

async function runSender(sender: ReturnType<typeof aSender>) {
  const records = await w.receive();
  const results = [];
  for (const r of records) results.push(await sender.processRecord(r).catch((e: Error) => e));
  return results;
}

describe('the war room and the call gate', () => {
  it('every war-room call passes the gate: scene-group and bot calls counted, lookups and token not', async () => {
    // given: 45 people, so member/add is needed too
    const users = people(45);
    const tenant = await aWarRoomTenant({ users });
    const { gate, before, after } = aRecordingGate();
    await w.send(aWarRoomRequest(tenant, users, { severity: 'critical' }));
    // when
    const [result] = await runSender(aSender({ gate }));
    // then
    expect(result).toMatchObject({ verdict: 'done' });
    const seen = new Map<string, number>();
    for (const c of before) seen.set(`${c.api}:${c.counted}`, (seen.get(`${c.api}:${c.counted}`) ?? 0) + 1);
    expect(Object.fromEntries(seen)).toEqual({ 'token:false': 1, 'getbymobile:false': 45, 'sceneGroupCreate:true': 1, 'sceneGroupMemberAdd:true': 1, 'groupSend:true': 1 });
    expect(before.every((c) => c.clientId === tenant.clientId && c.corpId === tenant.corpId && c.tenantId === tenant.tenantId)).toBe(true);
    expect(before.filter((c) => c.api !== 'token').every((c) => c.severity === 'critical')).toBe(true);
    expect(after.every(([, r]) => r.kind === 'ok')).toBe(true);
    expect(w.sim.calls).toHaveLength(before.length);
  });

  it('waiting for the template to install its bot uses the injected sleep; the summary is posted once', async () => {
    // given
    const users = people(3);
    const tenant = await aWarRoomTenant({ users, installDelayMs: 1200 });
    const slept: number[] = [];
    const sleep = async (ms: number) => {
      slept.push(ms);
      await new Promise((r) => setTimeout(r, ms));
    };
    await w.send(aWarRoomRequest(tenant, users));
    // when
    const [result] = await runSender(aSender({}, { sleep, installRetryIntervalMs: 500 }));
    // then
    expect(result).toMatchObject({ verdict: 'done' });
    expect(slept.length).toBeGreaterThanOrEqual(2);
    expect(slept.every((ms) => ms === 500)).toBe(true);
    expect(w.calls('groupSend')).toHaveLength(slept.length + 1);
    expect(w.sim.messages()).toHaveLength(1);
  });

  it('a bot still not there after the retries: back to the queue; the next attempt posts it, in the same group', async () => {
    // given: one post per attempt, the bot arrives after 1 s
    const users = people(3);
    const tenant = await aWarRoomTenant({ users, installDelayMs: 1000 });
    const msg = aWarRoomRequest(tenant, users);
    await w.send(msg);
    const sender = aSender({}, { installRetryAttempts: 1 });
    // when
    const [first] = await runSender(sender);
    const afterFirst = await getWarRoom(w.table, tenant.tenantId, msg.incident.id);
    await new Promise((r) => setTimeout(r, 1100));
    const [second] = await runSender(sender);
    // then
    expect(first).toBeInstanceOf(Error); // a batch item failure: SQS brings it back
    expect(afterFirst?.summary).toMatchObject({ status: 'retry', code: 'invalidParameter.robotCode.notExsit' });
    expect(second).toMatchObject({ verdict: 'done' });
    expect(w.sim.groupsCreated()).toHaveLength(1);
    expect(w.sim.messages()).toHaveLength(1);
    expect((await getWarRoom(w.table, tenant.tenantId, msg.incident.id))?.summary).toMatchObject({ status: 'sent' });
  });

  it('a gate that refuses for the quota stops sceneGroup/create before it is made: parked; later, one group', async () => {
    // given: the counter says the organisation is out of calls
    const users = people(3);
    const tenant = await aWarRoomTenant({ users });
    const { gate } = aRecordingGate((c) => (c.counted ? new DingTalkError({ kind: 'quotaExhausted', code: 'quota.local', message: 'monthly quota reached' }) : undefined));
    const parked: string[] = [];
    const msg = aWarRoomRequest(tenant, users);
    await w.send(msg);
    // when
    const [result] = await runSender(aSender({ gate, park: async (m, reason) => void parked.push(`${m.id}: ${reason}`) }));
    // then
    expect(result).toMatchObject({ verdict: 'quotaExhausted' });
    expect(parked).toEqual([`${msg.id}: monthly quota exhausted: warRoom ${msg.incident.id}: sceneGroup/create: quota.local (monthly quota reached)`]);
    expect(w.calls('sceneGroupCreate')).toHaveLength(0);
    expect(await getWarRoom(w.table, tenant.tenantId, msg.incident.id)).toBeUndefined();

    // and when the parked message comes back in the new month, one group and one summary
    await w.send(msg);
    const [again] = await runSender(aSender());
    expect(again).toMatchObject({ verdict: 'done' });
    expect(w.sim.groupsCreated()).toHaveLength(1);
    expect(w.sim.messages()).toHaveLength(1);
    expect(statuses(await w.outcome(tenant.tenantId, msg.id))).toMatchObject({ 'user g1': 'sent', 'user g2': 'sent', 'user g3': 'sent' });
  });
});
