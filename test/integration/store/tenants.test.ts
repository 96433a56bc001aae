import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { clientOwner } from '../../../lib/store/secrets';
import type { Table } from '../../../lib/store/table';
import { getTenant, putTenant } from '../../../lib/store/tenants';
import { aTenant } from '../../support/factories';
import { useLocalTable } from '../../support/localAws';

/** `putTenant` against DynamoDB Local when two operators change one tenant's Client ID at once. */

const table = useLocalTable();

/**
 * The table, with every TransactWriteItems held back until `readers` tenant records were read: so
 * each put reads the record before any of them writes, the interleaving that loses a claim.
 */
function readingFirst(t: Table, readers: number): Table {
  let reads = 0;
  let open!: () => void;
  const barrier = new Promise<void>((resolve) => (open = resolve));
  const send = t.doc.send.bind(t.doc) as (cmd: unknown) => Promise<unknown>;
  const doc = Object.create(t.doc) as Table['doc'];
  Object.assign(doc, {
    send: async (cmd: unknown) => {
      if (cmd instanceof TransactWriteCommand) await barrier;
      const r = await send(cmd);
      if (cmd instanceof GetCommand && String(cmd.input.Key?.pk).startsWith('TENANT#') && ++reads === readers) open();
      return r;
    },
  });
  return { ...t, doc } as Table;
}

describe('putTenant', () => {
  it('two puts changing the Client ID at once leave exactly one claim, the stored one', async () => {
    // given
    const tenant = await putTenant(table, aTenant());
    const [y, z] = [`${tenant.clientId}y`, `${tenant.clientId}z`];
    // when: both read the record (Client ID x) before either writes
    const racing = readingFirst(table, 2);
    const results = await Promise.allSettled([putTenant(racing, { ...tenant, clientId: y }), putTenant(racing, { ...tenant, clientId: z })]);
    // then: both saved, one after the other; the claims follow the record
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    const stored = (await getTenant(table, tenant.tenantId, true))!.clientId;
    expect([y, z]).toContain(stored);
    const owners = Object.fromEntries(await Promise.all([tenant.clientId, y, z].map(async (c) => [c, (await clientOwner(table, c)) ?? null])));
    expect(owners).toEqual({ [tenant.clientId]: null, [y]: stored === y ? tenant.tenantId : null, [z]: stored === z ? tenant.tenantId : null });
  });

  it('a first put racing another first put of the same tenant is read again, not lost or doubled', async () => {
    const tenant = aTenant();
    const racing = readingFirst(table, 2);
    const other = `${tenant.clientId}b`;
    await Promise.all([putTenant(racing, tenant), putTenant(racing, { ...tenant, clientId: other })]);
    const stored = (await getTenant(table, tenant.tenantId, true))!.clientId;
    const held = [(await clientOwner(table, tenant.clientId)) ?? null, (await clientOwner(table, other)) ?? null];
    expect(held).toEqual(stored === other ? [null, tenant.tenantId] : [tenant.tenantId, null]);
  });
});
