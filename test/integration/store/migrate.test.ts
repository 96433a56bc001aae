import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { randomBytes } from 'node:crypto';
import { runTenantCli } from '../../../lib/cli/tenant';
import { getEventCount } from '../../../lib/store/eventCounts';
import { applyLink, getGroup } from '../../../lib/store/groups';
import { parkedCount } from '../../../lib/quota/parkedCount';
import { aNotify, aTenant, httpEvent, lambdaContext, signedPush } from '../../support/factories';
import { statuses, useWorld } from '../../support/world';

/**
 * `npm run tenant -- migrate` on records as the code before the secrets split wrote them (each item
 * spelled out here as it was stored), then the real sender and callback handlers serving that tenant.
 */

type HttpHandler = (event: unknown, context: unknown) => Promise<{ statusCode: number; body: string }>;

const w = useWorld();
let callback: HttpHandler;

beforeAll(async () => {
  // Imported once the world's queues exist: it reads EVENTS_QUEUE_URL at module scope.
  ({ handler: callback } = (await import('../../../functions/callback')) as unknown as { handler: HttpHandler });
});

const MONTH = '2026-10';

/** A tenant, its group, its event counter and a parked message in the layout before the split. */
async function anOldTenant() {
  const tenant = aTenant({ corpId: `dingcorp${randomBytes(3).toString('hex')}` });
  const put = (Item: Record<string, unknown>) => w.table.doc.send(new PutCommand({ TableName: w.table.name, Item }));
  await put({ pk: `TENANT#${tenant.tenantId}`, sk: 'TENANT', type: 'tenant', ...tenant, updatedAt: '2026-10-01T00:00:00.000Z' });
  // A group link as the events function stored it: today's item, moved back under TENANT#.
  const cid = `cid${randomBytes(4).toString('hex')}==`;
  await applyLink(w.table, tenant.tenantId, { openConversationId: cid, linked: true, at: Date.now(), coolAppCode: 'COOLAPP-1', robotCode: tenant.clientId, corpId: tenant.corpId }, Date.now());
  const now = (await w.table.doc.send(new GetCommand({ TableName: w.table.name, Key: { pk: `CHATS#${tenant.tenantId}`, sk: `GROUP#${cid}` } }))).Item!;
  await put({ ...now, pk: `TENANT#${tenant.tenantId}` });
  await w.table.doc.send(new DeleteCommand({ TableName: w.table.name, Key: { pk: `CHATS#${tenant.tenantId}`, sk: `GROUP#${cid}` } }));
  await put({ pk: `ORG#${tenant.corpId}`, sk: `EVENTS#${MONTH}`, type: 'eventCount', corpId: tenant.corpId, month: MONTH, count: 7 });
  const parkedAt = Date.parse('2026-10-20T00:00:00Z');
  const parked = aNotify(tenant, { id: 'parked-1' });
  await put({ pk: `PARK#${tenant.corpId}`, sk: `1#${String(parkedAt).padStart(15, '0')}#parked-1`, type: 'parked', corpId: tenant.corpId, messageId: 'parked-1', month: MONTH, parkedAt, reason: 'quota', critical: false, body: JSON.stringify(parked) });
  await put({ pk: 'PARKED', sk: `ORG#${tenant.corpId}`, corpId: tenant.corpId, lastParkedAt: parkedAt, tenantIds: new Set([tenant.tenantId]), parks: 1 });
  w.sim.addApp({ clientId: tenant.clientId, clientSecret: tenant.clientSecret, corpId: tenant.corpId, qps: 1000, monthlyQuota: 100_000 });
  w.sim.addUser(tenant.corpId, { userId: 'user1' });
  return { tenant, cid };
}

async function migrate() {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runTenantCli(['migrate'], { table: w.table, out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

describe('npm run tenant -- migrate', () => {
  it('before it runs, a reader of an old tenant item (homepage, events, unpark) still gets no secret: the read is projected', async () => {
    const { tenant } = await anOldTenant();
    const { getTenant } = await import('../../../lib/store/tenants');
    const record = await getTenant(w.table, tenant.tenantId);
    expect(record).toMatchObject({ tenantId: tenant.tenantId, corpId: tenant.corpId, clientId: tenant.clientId });
    expect(JSON.stringify(record)).not.toMatch(new RegExp([tenant.clientSecret, tenant.aesKey, tenant.token].map((x) => x.replace(/[+/]/g, '\\$&')).join('|')));
  });

  it('moves an old tenant, and the sender and the callback serve it afterwards', async () => {
    // given
    const { tenant, cid } = await anOldTenant();
    // when
    const first = await migrate();
    const second = await migrate();
    // then: it said what it moved, and the second run moved nothing
    expect(first.code).toBe(0);
    expect(first.out.join('\n')).toContain(`TENANT#${tenant.tenantId}: secrets moved to SECRET#CALLBACK# and SECRET#APP#, Client ID ${tenant.clientId} claimed`);
    expect(first.out.join('\n')).toContain(`TENANT#${tenant.tenantId} GROUP#${cid} -> CHATS#${tenant.tenantId}`);
    expect(first.out.join('\n')).toContain(`ORG#${tenant.corpId} EVENTS#${MONTH} (7 events) -> EVENTS#${tenant.corpId} MONTH#${MONTH}`);
    expect(first.out.at(-1)).toMatch(/^migrated: [1-9]\d* tenant\(s\), [1-9]\d* group\/war-room item\(s\), [1-9]\d* event counter\(s\), [1-9]\d* parked message\(s\); 0 conflict\(s\)$/);
    expect(second).toEqual({ code: 0, out: ['migrated: 0 tenant(s), 0 group/war-room item(s), 0 event counter(s), 0 parked message(s); 0 conflict(s)'], err: [] });
    // the tenant item keeps no secret; the group, the count and the parked message are where the code reads them
    const record = (await w.table.doc.send(new GetCommand({ TableName: w.table.name, Key: { pk: `TENANT#${tenant.tenantId}`, sk: 'TENANT' } }))).Item!;
    expect(Object.keys(record).filter((k) => ['clientSecret', 'aesKey', 'token'].includes(k))).toEqual([]);
    expect(await getGroup(w.table, tenant.tenantId, cid)).toMatchObject({ linked: true });
    expect(await getEventCount(w.table, tenant.corpId, MONTH)).toBe(7);
    expect(await parkedCount(w.table, tenant.corpId, Date.now())).toBe(1);

    // when: a notification and a signed callback for it
    const msg = aNotify(tenant);
    await w.send(msg);
    await w.deliver();
    const push = signedPush(tenant, { EventType: 'check_url' });
    const res = await callback(httpEvent({ path: `/dingtalk/${tenant.tenantId}/callback`, pathParameters: { tenantId: tenant.tenantId }, query: push.query, body: push.body }), { ...lambdaContext });
    // then
    expect(statuses(await w.outcome(tenant.tenantId, msg.id))).toEqual({ 'user user1': 'sent' });
    expect(res.statusCode).toBe(200);
  });

  it('leaves an old tenant whose Client ID another tenant registered, and says so', async () => {
    const { tenant } = await anOldTenant();
    const { putTenant } = await import('../../../lib/store/tenants');
    const other = await putTenant(w.table, aTenant({ clientId: tenant.clientId }));
    const r = await migrate();
    expect(r.code).toBe(1);
    expect(r.out.join('\n')).toContain(`TENANT#${tenant.tenantId}: NOT migrated: Client ID ${tenant.clientId} is already registered to tenant ${other.tenantId}`);
    const record = (await w.table.doc.send(new GetCommand({ TableName: w.table.name, Key: { pk: `TENANT#${tenant.tenantId}`, sk: 'TENANT' } }))).Item!;
    expect(record.aesKey).toBe(tenant.aesKey);
  });
});
