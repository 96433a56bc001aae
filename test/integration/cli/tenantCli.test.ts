import { getFullTenant } from '../../../lib/store/secrets';
import { PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { runTenantCli } from '../../../lib/cli/tenant';
import type { Input } from '../../../lib/cli/prompt';
import * as keys from '../../../lib/contracts/tableKeys';
import type { Tenant } from '../../../lib/contracts/tenant';
import { addToBacklog } from '../../../lib/lanes/backlog';
import { markExhausted, usage } from '../../../lib/quota/counter';
import { park } from '../../../lib/quota/parking';
import { createTable, type Table } from '../../../lib/store/table';
import { getTenant } from '../../../lib/store/tenants';
import { chinaMonth } from '../../../lib/util/chinaTime';
import { aTenant } from '../../support/factories';
import { startLocalAws, type LocalAws } from '../../support/localAws';

describe('tenant CLI against DynamoDB Local', () => {
  let aws: LocalAws;
  const dir = mkdtempSync(join(tmpdir(), 'tenant-cli-'));
  beforeAll(async () => {
    aws = await startLocalAws();
  });
  afterAll(async () => aws?.stop());

  async function cli(...args: string[]) {
    return cliWith({}, ...args);
  }

  /** The CLI with a given stdin (default: empty, not a terminal) and clock. */
  async function cliWith(io: { stdin?: Input; now?: () => number }, ...args: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runTenantCli(args, { out: (l) => out.push(l), err: (l) => err.push(l), stdin: io.stdin ?? Readable.from([]), now: io.now });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  /** A stdin holding `text`; `tty` makes it look like a terminal. */
  const stdinOf = (text: string, tty = false): Input => Object.assign(Readable.from([text]), { isTTY: tty });
  const stored = async (id: string) => (await getFullTenant(createTable(aws.tableName), id, (x) => getTenant(createTable(aws.tableName), x)))!;

  const file = (name: string, content: unknown) => {
    const p = join(dir, name);
    writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
    return p;
  };

  it('puts a tenant, then get and list show it with every secret masked', async () => {
    const tenant = aTenant({ qps: 15 });
    expect((await cli('put', file('t.json', tenant))).code).toBe(0);

    const got = await cli('get', tenant.tenantId);
    expect(got.code).toBe(0);
    expect(JSON.parse(got.out)).toMatchObject({ tenantId: tenant.tenantId, corpId: tenant.corpId, qps: 15, clientSecret: '****', aesKey: '****', token: '****' });
    const listed = await cli('list');
    expect(listed.out).toContain(tenant.tenantId);
    for (const secret of [tenant.clientSecret, tenant.aesKey, tenant.token]) {
      expect(got.out).not.toContain(secret);
      expect(listed.out).not.toContain(secret);
    }
  });

  it('rejects an invalid record naming every bad field, and stores nothing', async () => {
    const bad = { ...aTenant(), aesKey: 'short', edition: 'gold' };
    const r = await cli('put', file('bad.json', bad));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/aesKey/);
    expect(r.err).toMatch(/edition/);
    expect((await cli('get', bad.tenantId)).code).toBe(1);
  });

  it('explains unreadable files, unknown tenants and unknown commands', async () => {
    expect(await cli('put', file('broken.json', '{nope'))).toMatchObject({ code: 2, err: expect.stringMatching(/cannot read/) });
    expect(await cli('get', 'nobody')).toMatchObject({ code: 1, err: 'no tenant nobody' });
    expect(await cli('frobnicate')).toMatchObject({ code: 2, err: expect.stringMatching(/usage/) });
  });

  it('a broken file is reported without echoing its content (it may hold a secret)', async () => {
    const r = await cli('put', file('leak.json', '{"clientSecret":SUPERSECRET123}'));
    expect(r).toMatchObject({ code: 2, err: expect.stringMatching(/not valid JSON/) });
    expect(r.err).not.toContain('SUPERSECRET');
  });

  it('raising the monthly quota lifts the month\'s "exhausted" mark so parked messages can go', async () => {
    const tenant = aTenant({ monthlyQuota: 100 });
    await cli('put', file('q1.json', tenant));
    await markExhausted(createTable(aws.tableName), tenant.corpId, chinaMonth(Date.now()));
    const r = await cli('put', file('q2.json', { ...tenant, monthlyQuota: 1000 }));
    expect(r.out).toMatch(/monthly quota raised to 1000/);
    expect((await usage(createTable(aws.tableName), tenant.corpId)).exhausted).toBe(false);
  });


  describe('set', () => {
    const newAesKey = () => aTenant().aesKey;

    it('changes a single field and keeps every other; field= removes an optional one', async () => {
      const tenant = aTenant({ qps: 15 });
      await cli('put', file('s1.json', tenant));

      const r = await cli('set', tenant.tenantId, 'monthlyQuota=5000', 'warRoomBotId=bot-7');
      expect(r).toMatchObject({ code: 0, out: expect.stringContaining('updated tenant') });
      expect(await stored(tenant.tenantId)).toEqual({ ...tenant, monthlyQuota: 5000, warRoomBotId: 'bot-7' });

      expect((await cli('set', tenant.tenantId, 'qps=')).code).toBe(0);
      const { qps: _removed, ...rest } = tenant;
      expect(await stored(tenant.tenantId)).toEqual({ ...rest, monthlyQuota: 5000, warRoomBotId: 'bot-7' });
    });

    it('refuses an invalid value, an unknown field or the tenantId, naming it, and changes nothing', async () => {
      const tenant = aTenant();
      await cli('put', file('s2.json', tenant));
      expect(await cli('set', tenant.tenantId, 'qps=fast')).toMatchObject({ code: 1, err: expect.stringMatching(/qps/) });
      expect(await cli('set', tenant.tenantId, 'edition=gold')).toMatchObject({ code: 1, err: expect.stringMatching(/edition/) });
      expect(await cli('set', tenant.tenantId, 'colour=red')).toMatchObject({ code: 2, err: expect.stringMatching(/unknown field colour/) });
      expect(await cli('set', tenant.tenantId, 'tenantId=other')).toMatchObject({ code: 2, err: expect.stringMatching(/tenantId cannot be changed/) });
      expect(await cli('set', 'nobody', 'qps=1')).toMatchObject({ code: 1, err: 'no tenant nobody' });
      expect(await stored(tenant.tenantId)).toEqual(tenant);
    });

    it.each(['clientSecret', 'aesKey', 'token'])('refuses %s given on the command line, without repeating it, and changes nothing', async (field) => {
      const tenant = aTenant();
      await cli('put', file('s3.json', tenant));
      const inline = field === 'aesKey' ? newAesKey() : 'Inline0Secret0Value';
      const r = await cli('set', tenant.tenantId, `${field}=${inline}`);
      expect(r.code).toBe(2);
      expect(r.err).toContain(`${field}=-`);
      expect(r.err).toContain(`${field}=@<file>`);
      expect(r.out + r.err).not.toContain(inline);
      expect(await stored(tenant.tenantId)).toEqual(tenant);
    });

    it('reads a secret from stdin or from a file, and prints neither', async () => {
      const tenant = aTenant();
      await cli('put', file('s4.json', tenant));
      const aesKey = newAesKey();
      const r = await cliWith({ stdin: stdinOf(`${aesKey}\n`) }, 'set', tenant.tenantId, 'aesKey=-', 'token=@' + file('token.txt', 'NewToken42\n'), 'clientSecret=@' + file('secret.txt', 'new-client-secret'));
      expect(r.code).toBe(0);
      const now = await stored(tenant.tenantId);
      expect(now).toMatchObject({ aesKey, token: 'NewToken42', clientSecret: 'new-client-secret' });
      const shown = await cli('get', tenant.tenantId);
      for (const secret of [aesKey, 'NewToken42', 'new-client-secret', tenant.aesKey, tenant.token, tenant.clientSecret]) {
        expect(r.out + r.err + shown.out).not.toContain(secret);
      }
    });

    it('an empty stdin, a missing file or an invalid secret is refused and changes nothing', async () => {
      const tenant = aTenant();
      await cli('put', file('s5.json', tenant));
      expect(await cli('set', tenant.tenantId, 'aesKey=-')).toMatchObject({ code: 2, err: expect.stringMatching(/nothing read from stdin/) });
      expect(await cli('set', tenant.tenantId, `token=@${join(dir, 'missing.txt')}`)).toMatchObject({ code: 2, err: expect.stringMatching(/ENOENT/) });
      const bad = await cliWith({ stdin: stdinOf('Tooshort') }, 'set', tenant.tenantId, 'aesKey=-');
      expect(bad).toMatchObject({ code: 1, err: expect.stringMatching(/aesKey must be 43 characters/) });
      expect(bad.err).not.toContain('Tooshort');
      expect(await stored(tenant.tenantId)).toEqual(tenant);
    });

    it('a new aesKey or token keeps the previous one for the grace window, shown masked with its end', async () => {
      const tenant = aTenant();
      await cli('put', file('s6.json', tenant));
      const at = Date.UTC(2026, 10, 30, 12, 0, 0);
      const aesKey = newAesKey();
      const r = await cliWith({ stdin: stdinOf(aesKey), now: () => at }, 'set', tenant.tenantId, 'aesKey=-', 'token=@' + file('t6.txt', 'Rotated6'), '--grace', '2h');
      expect(r.out).toContain('the previous aesKey is still accepted by the callback until 2026-11-30T14:00:00.000Z');
      expect(await stored(tenant.tenantId)).toMatchObject({
        aesKey,
        token: 'Rotated6',
        previousAesKey: { value: tenant.aesKey, until: '2026-11-30T14:00:00.000Z' },
        previousToken: { value: tenant.token, until: '2026-11-30T14:00:00.000Z' },
      });
      const shown = await cli('get', tenant.tenantId);
      expect(JSON.parse(shown.out)).toMatchObject({ previousAesKey: { value: '****', until: '2026-11-30T14:00:00.000Z' }, previousToken: { value: '****' } });
      expect(shown.out).not.toContain(tenant.aesKey);
      expect(shown.out).not.toContain(tenant.token);

      // --grace 0: the replaced token is refused at once
      await cliWith({ now: () => at }, 'set', tenant.tenantId, 'token=@' + file('t7.txt', 'Rotated7'), '--grace', '0');
      expect((await stored(tenant.tenantId)).previousToken).toBeUndefined();
      expect(await cli('set', tenant.tenantId, 'qps=5', '--grace', '30d')).toMatchObject({ code: 2, err: expect.stringMatching(/at most 7d/) });
      expect(await cli('set', tenant.tenantId, 'previousToken=x')).toMatchObject({ code: 2 });

      // previousAesKey= revokes a replaced key still in its window (a leaked key), without another rotation
      await cliWith({ now: () => at }, 'set', tenant.tenantId, 'aesKey=@' + file('k8.txt', 'c'.repeat(43)));
      expect((await stored(tenant.tenantId)).previousAesKey).toBeDefined();
      expect((await cliWith({ now: () => at }, 'set', tenant.tenantId, 'previousAesKey=')).code).toBe(0);
      expect((await stored(tenant.tenantId)).previousAesKey).toBeUndefined();
    });
  });

  describe('delete', () => {
    let table: Table;
    beforeAll(() => {
      table = createTable(aws.tableName);
    });

    const allKeys = async (): Promise<Set<string>> => {
      const found = new Set<string>();
      let start: Record<string, unknown> | undefined;
      do {
        const r = await table.doc.send(new ScanCommand({ TableName: aws.tableName, ExclusiveStartKey: start, ConsistentRead: true }));
        for (const i of r.Items ?? []) found.add(`${i.pk}|${i.sk}`);
        start = r.LastEvaluatedKey;
      } while (start);
      return found;
    };

    const put = (key: keys.ItemKey, extra: Record<string, unknown> = {}) => table.doc.send(new PutCommand({ TableName: aws.tableName, Item: { ...key, ...extra } }));

    /** The tenant and one item of every kind the table map gives a tenant, its app and its organisation; the keys written. */
    async function aTenantWithEverything(tenant: Tenant): Promise<string[]> {
      const before = await allKeys();
      expect((await cli('put', file(`${tenant.tenantId}.json`, tenant))).code).toBe(0);
      const { tenantId: id, clientId, corpId } = tenant;
      const month = chinaMonth(Date.now());
      await Promise.all([
        put(keys.groupKey(id, `cid-${id}`), { title: 'ops' }),
        put(keys.warRoomKey(id, 'inc-1')),
        put(keys.eventDedupeKey(id, 'ev-1'), { status: 'COMPLETED' }),
        put(keys.messageKey(id, 'n-1')),
        put(keys.recipientItemKey(id, 'n-1', 'user', 'u1'), { status: 'sent' }),
        put(keys.tokenKey(clientId), { accessToken: 'x' }),
        put(keys.tokenLeaseKey(clientId)),
        put(keys.rateKey(clientId, 'robot.batchSend'), { tat: 1 }),
        put(keys.laneKey(clientId), { holder: 'h' }),
        put(keys.eventCountKey(corpId, month), { count: 3 }),
        put(keys.quotaKey(corpId, month), { used: 5 }),
        put(keys.mobileKey(corpId, '13800000001'), { userId: 'u1' }),
        put(keys.linkSecretKey(id), { key: 'x' }),
        put(keys.userLinkKey(id, 'u1'), { memberId: '1', userId: 'u1' }),
        put(keys.memberLinkKey(id, '1'), { memberId: '1', userId: 'u1' }),
        addToBacklog(table, clientId, [{ body: '{}', tenantId: id, messageId: 'n-2', sqsMessageId: `sqs-${id}`, receiveCount: 1, sentAt: Date.now(), critical: false }]),
      ]);
      await park(table, corpId, { id: `n-3-${id}`, tenantId: id }, 'quota', { tenantId: id, critical: false });
      return [...(await allKeys())].filter((k) => !before.has(k));
    }

    /** Items that belong to the organisation, not to one of its tenants. */
    const ofOrganisation = (corpId: string) => (k: string) => [`ORG#${corpId}|`, `EVENTS#${corpId}|`, `CORP#${corpId}|`, `PARKED|ORG#${corpId}`].some((p) => k.startsWith(p));

    it("removes everything of the tenant, keeps what a tenant of the same organisation still needs, and nothing of another tenant", async () => {
      // given: a and b, two apps of one organisation; c elsewhere
      const a = aTenant();
      const b = aTenant({ corpId: a.corpId });
      const c = aTenant();
      const ofA = await aTenantWithEverything(a);
      const ofB = await aTenantWithEverything(b);
      const ofC = await aTenantWithEverything(c);
      const org = ofA.filter(ofOrganisation(a.corpId));
      expect(org).toHaveLength(5);
      const before = await allKeys();

      // when a is deleted: the organisation's items stay for b
      const r = await cli('delete', a.tenantId, '--yes');
      expect(r.code).toBe(0);
      expect(r.out).toContain(`deleted tenant ${a.tenantId}: `);
      for (const count of ['tenant: 1', 'secrets: 3', 'links: 2', 'Client ID claim: 1', 'groups: 1', 'war rooms: 1', 'event dedupe records: 1', 'delivery records: 2', 'parked messages: 1', 'backlog messages: 1', 'access tokens: 2', 'rate limiter states: 1', 'lane: 1']) {
        expect(r.out).toContain(count);
      }
      expect(r.out).not.toMatch(/monthly call counters/);
      const afterA = await allKeys();
      const gone = [...before].filter((k) => !afterA.has(k));
      expect(gone.sort()).toEqual(ofA.filter((k) => !org.includes(k)).sort());

      // when b, the organisation's last tenant, is deleted: the organisation's items go with it
      const r2 = await cli('delete', b.tenantId, '--yes');
      expect(r2.out).toContain('monthly call counters: 1');
      expect(r2.out).toContain('mobile cache entries: 1');
      expect(r2.out).toContain('parked count: 1');
      const now = await allKeys();
      expect([...afterA].filter((k) => !now.has(k)).sort()).toEqual([...ofB, ...org].sort());
      for (const k of ofC) expect(now.has(k)).toBe(true);
      expect((await cli('get', a.tenantId)).code).toBe(1);
      expect((await cli('delete', a.tenantId, '--yes')).code).toBe(1);
    });

    it("takes the deleted tenant's parked messages off the count of an organisation another tenant keeps", async () => {
      // given: a and b of one organisation, each with messages parked
      const a = aTenant();
      const b = aTenant({ corpId: a.corpId });
      await aTenantWithEverything(a);
      await aTenantWithEverything(b);
      const table = createTable(aws.tableName);
      for (const id of ['x-1', 'x-2']) await park(table, a.corpId, { id: `${id}-${a.tenantId}`, tenantId: a.tenantId }, 'quota', { tenantId: a.tenantId, critical: false });
      const { parkedCount } = await import('../../../lib/quota/parkedCount');
      const { countParked } = await import('../../../lib/quota/parking');
      expect(await parkedCount(table, a.corpId, Date.now())).toBe(4);
      // when
      expect((await cli('delete', a.tenantId, '--yes')).code).toBe(0);
      // then: b's one parked message is left, and counted as one
      expect(await countParked(table, a.corpId)).toBe(1);
      expect(await parkedCount(table, a.corpId, Date.now())).toBe(1);
    });

    it('also removes what a tenant not yet migrated keeps in the old layout (groups under TENANT#, event counts under ORG#)', async () => {
      const tenant = aTenant();
      expect((await cli('put', file(`${tenant.tenantId}-old.json`, tenant))).code).toBe(0);
      const month = chinaMonth(Date.now());
      const old = [
        { pk: keys.tenantPk(tenant.tenantId), sk: 'GROUP#cid-old' },
        { pk: keys.tenantPk(tenant.tenantId), sk: 'WARROOM#inc-old' },
        { pk: keys.quotaKey(tenant.corpId, month).pk, sk: `EVENTS#${month}` },
      ];
      for (const k of old) await put(k);
      expect((await cli('delete', tenant.tenantId, '--yes')).code).toBe(0);
      const now = await allKeys();
      for (const k of old) expect(now.has(`${k.pk}|${k.sk}`)).toBe(false);
    });

    it('without --yes and without a terminal it refuses and removes nothing', async () => {
      const tenant = aTenant();
      const written = await aTenantWithEverything(tenant);
      const r = await cli('delete', tenant.tenantId);
      expect(r).toMatchObject({ code: 2, err: expect.stringMatching(/--yes/) });
      const now = await allKeys();
      for (const k of written) expect(now.has(k)).toBe(true);
    });

    it('at a terminal it says what it will remove and deletes only once the tenant id is typed', async () => {
      const tenant = aTenant();
      await aTenantWithEverything(tenant);
      const refused = await cliWith({ stdin: stdinOf('y\n', true) }, 'delete', tenant.tenantId);
      expect(refused).toMatchObject({ code: 1, err: expect.stringMatching(/not confirmed: nothing deleted/) });
      expect(refused.err).toContain('groups: 1');
      expect((await cli('get', tenant.tenantId)).code).toBe(0);

      const confirmed = await cliWith({ stdin: stdinOf(`${tenant.tenantId}\n`, true) }, 'delete', tenant.tenantId);
      expect(confirmed).toMatchObject({ code: 0, out: expect.stringContaining(`deleted tenant ${tenant.tenantId}`) });
      expect((await cli('get', tenant.tenantId)).code).toBe(1);
    });
  });

  it('refuses a second tenant with a Client ID already registered, naming the tenant that has it', async () => {
    const first = aTenant();
    expect((await cli('put', file('c1.json', first))).code).toBe(0);
    const second = aTenant({ clientId: first.clientId });
    const r = await cli('put', file('c2.json', second));
    expect(r.code).toBe(1);
    expect(r.err).toBe(`Client ID ${first.clientId} is already registered to tenant ${first.tenantId}: one DingTalk app serves one tenant (delete ${first.tenantId} first, or use its tenant id)`);
    expect((await cli('get', second.tenantId)).code).toBe(1);
    // The tenant that has it may be put again.
    expect((await cli('put', file('c3.json', { ...first, qps: 7 }))).code).toBe(0);
  });

  it('frees a Client ID when its tenant changes it or is deleted', async () => {
    const a = aTenant();
    const b = aTenant({ clientId: a.clientId });
    await cli('put', file('f1.json', a));
    await cli('put', file('f2.json', { ...a, clientId: `${a.clientId}new` }));
    expect((await cli('put', file('f3.json', b))).code).toBe(0);
    expect((await cli('put', file('f4.json', aTenant({ clientId: `${a.clientId}new` })))).code).toBe(1);
    await cli('delete', a.tenantId, '--yes');
    expect((await cli('put', file('f5.json', aTenant({ clientId: `${a.clientId}new` })))).code).toBe(0);
  });

  it('parked shows each message with its expiry: 7 days after the next China-time month begins', async () => {
    const tenant = aTenant();
    await cli('put', file('p.json', tenant));
    const { park } = await import('../../../lib/quota/parking');
    const parkedAt = Date.parse('2026-11-30T10:15:00Z');
    await park(createTable(aws.tableName), tenant.corpId, { id: 'n-1', tenantId: tenant.tenantId, kind: 'notify' }, 'quota', { tenantId: tenant.tenantId, critical: true, now: parkedAt });
    const r = await cli('parked', tenant.tenantId);
    expect(JSON.parse(r.out)).toEqual([expect.objectContaining({ id: 'n-1', parkedAt: '2026-11-30T10:15:00.000Z', expiresAt: '2026-12-07T16:00:00.000Z' })]);
  });

  it('--local reads the endpoints npm start wrote, and says so when the stack is not running', async () => {
    const envFile = join(dir, 'stack.env');
    const { applyLocalFlag } = await import('../../../lib/cli/stackEnv');
    expect(() => applyLocalFlag(['--local', 'list'], envFile)).toThrow(/npm start/);
    writeFileSync(envFile, `TABLE_NAME=${aws.tableName}\nAWS_ENDPOINT_URL_DYNAMODB=${aws.env.AWS_ENDPOINT_URL_DYNAMODB}\n`);
    expect(applyLocalFlag(['--local', 'list'], envFile)).toEqual(['list']);
    expect(process.env.TABLE_NAME).toBe(aws.tableName);
  });
});
