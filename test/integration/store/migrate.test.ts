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

async function migrate(...flags: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runTenantCli(['migrate', ...flags], { table: w.table, out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

const SECRETS = ['clientSecret', 'aesKey', 'token'];
const rawTenant = async (tenantId: string) => (await w.table.doc.send(new GetCommand({ TableName: w.table.name, Key: { pk: `TENANT#${tenantId}`, sk: 'TENANT' }, ConsistentRead: true }))).Item!;
const rawItem = async (pk: string, sk: string) => (await w.table.doc.send(new GetCommand({ TableName: w.table.name, Key: { pk, sk }, ConsistentRead: true }))).Item;

describe('npm run tenant -- migrate', () => {
  it('before it runs, a reader of an old tenant item (homepage, events, unpark) still gets no secret: the read is projected', async () => {
    const { tenant } = await anOldTenant();
    const { getTenant } = await import('../../../lib/store/tenants');
    const record = await getTenant(w.table, tenant.tenantId);
    expect(record).toMatchObject({ tenantId: tenant.tenantId, corpId: tenant.corpId, clientId: tenant.clientId });
    expect(JSON.stringify(record)).not.toMatch(new RegExp([tenant.clientSecret, tenant.aesKey, tenant.token].map((x) => x.replace(/[+/]/g, '\\$&')).join('|')));
  });

  it('moves an old tenant in two steps, and the sender and the callback serve it afterwards', async () => {
    // given
    const { tenant, cid } = await anOldTenant();
    // when: step 1, before the deploy
    const first = await migrate();
    const second = await migrate();
    // then: the old code's tenant item is untouched (a rollback keeps working); the secret items exist
    expect(await rawTenant(tenant.tenantId)).toMatchObject({ aesKey: tenant.aesKey, token: tenant.token, clientSecret: tenant.clientSecret });
    expect(await rawItem(`SECRET#CALLBACK#${tenant.tenantId}`, 'SECRET')).toMatchObject({ aesKey: tenant.aesKey, token: tenant.token });
    expect(await rawItem(`SECRET#APP#${tenant.tenantId}`, 'SECRET')).toMatchObject({ clientSecret: tenant.clientSecret });
    expect(await rawItem(`TENANT#${tenant.tenantId}`, `GROUP#${cid}`)).toMatchObject({ linked: true });
    // when: step 2, after the deploy
    const strip = await migrate('--strip');
    const stripAgain = await migrate('--strip');
    expect(strip.code).toBe(0);
    expect(strip.out).toContain(`TENANT#${tenant.tenantId}: secrets removed from the tenant item`);
    expect(stripAgain.out.at(-1)).toBe('migrated: 0 tenant(s) stripped, 0 group/war-room item(s), 0 event counter(s), 0 parked message(s); 0 conflict(s)');
    // then: step 1 only copied (the old code keeps its groups and counts where it reads them), and
    // the second run copied nothing; step 2 moved them
    expect(first.code).toBe(0);
    expect(first.out.join('\n')).toContain(`TENANT#${tenant.tenantId}: secrets copied to SECRET#CALLBACK# and SECRET#APP#, Client ID ${tenant.clientId} claimed`);
    expect(first.out.join('\n')).not.toContain('->');
    expect(first.out.at(-1)).toMatch(/^migrated: [1-9]\d* tenant\(s\), 0 group\/war-room item\(s\), 0 event counter\(s\), 0 parked message\(s\); 0 conflict\(s\)$/);
    expect(second).toEqual({ code: 0, out: ['migrated: 0 tenant(s), 0 group/war-room item(s), 0 event counter(s), 0 parked message(s); 0 conflict(s)'], err: [] });
    expect(strip.out.join('\n')).toContain(`TENANT#${tenant.tenantId} GROUP#${cid} -> CHATS#${tenant.tenantId}`);
    expect(strip.out.join('\n')).toContain(`ORG#${tenant.corpId} EVENTS#${MONTH} (7 events) -> EVENTS#${tenant.corpId} MONTH#${MONTH}`);
    // the tenant item keeps no secret; the group, the count and the parked message are where the code reads them
    const record = await rawTenant(tenant.tenantId);
    expect(Object.keys(record).filter((k) => SECRETS.includes(k))).toEqual([]);
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

describe('npm run tenant -- migrate: what the upgrade meets', () => {
  it('--strip leaves a tenant item whose secret items differ (put again by the old code after step 1), and says so', async () => {
    // (The table is shared with the other tests, whose conflicts make the exit code 1: the lines about this tenant are checked.)
    const { tenant } = await anOldTenant();
    expect((await migrate()).out).toContain(`TENANT#${tenant.tenantId}: secrets copied to SECRET#CALLBACK# and SECRET#APP#, Client ID ${tenant.clientId} claimed (the tenant item keeps them until "migrate --strip")`);
    // The old code's `tenant put` between step 1 and the deploy: a new token in the tenant item only.
    await w.table.doc.send(new PutCommand({ TableName: w.table.name, Item: { ...(await rawTenant(tenant.tenantId)), token: 'newtoken123' } }));
    const strip = await migrate('--strip');
    expect(strip.out.join('\n')).toContain(`TENANT#${tenant.tenantId}: NOT stripped: its secret items are missing or differ from it`);
    expect((await rawTenant(tenant.tenantId)).token).toBe('newtoken123');
    // Step 1 again copies the new token; then --strip removes it from the tenant item.
    await migrate();
    expect(await rawItem(`SECRET#CALLBACK#${tenant.tenantId}`, 'SECRET')).toMatchObject({ token: 'newtoken123' });
    expect((await migrate('--strip')).out).toContain(`TENANT#${tenant.tenantId}: secrets removed from the tenant item`);
    expect((await rawTenant(tenant.tenantId)).token).toBeUndefined();
  });

  it('merges an old group link into the CHATS# item a rename created since the deploy, keeping the newer title', async () => {
    // given: the old link under TENANT#, and a rename handled by the new code (the CHATS# item holds only the title)
    const { tenant, cid } = await anOldTenant();
    const { applyTitle } = await import('../../../lib/store/groups');
    await applyTitle(w.table, tenant.tenantId, { openConversationId: cid, title: 'renamed', at: Date.now() + 60_000 }, Date.now());
    expect(await getGroup(w.table, tenant.tenantId, cid)).toMatchObject({ title: 'renamed', linked: false });
    // when
    const r = await migrate('--strip');
    // then: linked (from the old item) and the new title, the old item gone
    expect(r.out.join('\n')).toContain(`TENANT#${tenant.tenantId} GROUP#${cid} -> CHATS#${tenant.tenantId}`);
    expect(await getGroup(w.table, tenant.tenantId, cid)).toMatchObject({ title: 'renamed', linked: true, coolAppCode: 'COOLAPP-1' });
    expect(await rawItem(`TENANT#${tenant.tenantId}`, `GROUP#${cid}`)).toBeUndefined();
  });

  it('merges an old war room into the CHATS# item written since the deploy', async () => {
    const { tenant } = await anOldTenant();
    const put = (Item: Record<string, unknown>) => w.table.doc.send(new PutCommand({ TableName: w.table.name, Item }));
    await put({ pk: `TENANT#${tenant.tenantId}`, sk: 'WARROOM#inc-9', type: 'warRoom', incidentId: 'inc-9', openConversationId: 'cidwar==', createdAt: '2026-10-02T00:00:00.000Z' });
    await put({ pk: `CHATS#${tenant.tenantId}`, sk: 'WARROOM#inc-9', title: 'newer' });
    await migrate('--strip');
    expect(await rawItem(`CHATS#${tenant.tenantId}`, 'WARROOM#inc-9')).toMatchObject({ incidentId: 'inc-9', openConversationId: 'cidwar==', createdAt: '2026-10-02T00:00:00.000Z', title: 'newer' });
    expect(await rawItem(`TENANT#${tenant.tenantId}`, 'WARROOM#inc-9')).toBeUndefined();
  });

  it('a conflict is resolved with tenant put (its own app) on the item not migrated, then migrate', async () => {
    // given: an old tenant whose Client ID another tenant registered
    const { tenant } = await anOldTenant();
    const { putTenant } = await import('../../../lib/store/tenants');
    const { clientOwner } = await import('../../../lib/store/secrets');
    const other = await putTenant(w.table, aTenant({ clientId: tenant.clientId }));
    expect((await migrate()).code).toBe(1);
    // when: the old tenant is put again with its own DingTalk app
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const file = join(mkdtempSync(join(tmpdir(), 'migrate-')), 't.json');
    writeFileSync(file, JSON.stringify({ ...tenant, clientId: `${tenant.clientId}own` }));
    const out: string[] = [];
    const err: string[] = [];
    const code = await runTenantCli(['put', file], { table: w.table, out: (l) => out.push(l), err: (l) => err.push(l) });
    // then: saved; the other tenant keeps its claim; the migration has nothing left in conflict
    expect({ code, err }).toEqual({ code: 0, err: [] });
    expect(await clientOwner(w.table, tenant.clientId)).toBe(other.tenantId);
    expect(await clientOwner(w.table, `${tenant.clientId}own`)).toBe(tenant.tenantId);
    expect((await migrate()).out.join('\n')).not.toContain(`TENANT#${tenant.tenantId}: NOT`);
  });

  it('a parked message unpark re-queues while the migration counts it is not left counted', async () => {
    const { tenant } = await anOldTenant();
    const { takeParked, ackParked, countParked } = await import('../../../lib/quota/parking');
    // given: unpark took the old message (read without an expiry)
    const taken = await takeParked(w.table, tenant.corpId, 10);
    expect(taken.map((t) => t.expiresAt)).toEqual([undefined]);
    // when: the migration gives it an expiry and counts it, then unpark acknowledges it
    await migrate('--strip');
    expect(await parkedCount(w.table, tenant.corpId, Date.now())).toBe(1);
    expect(await ackParked(w.table, taken)).toBe(1);
    // then
    expect(await countParked(w.table, tenant.corpId)).toBe(0);
    expect(await parkedCount(w.table, tenant.corpId, Date.now())).toBe(0);
  });
});
