import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { recipientItemKey } from '../../../lib/contracts/tableKeys';
import { LaneRecords } from '../../../lib/delivery/laneRecords';
import { readOutcome } from '../../../lib/delivery/outcomes';
import { useLocalTable } from '../../support/localAws';

/**
 * The delivery records under a lane (lib/delivery/laneRecords.ts) on DynamoDB Local: batched, and
 * still conditional, so a holder that lost its lane cannot overwrite what another attempt wrote.
 */
const table = useLocalTable();
let n = 0;
const fresh = () => ({ records: new LaneRecords(table, 20), id: `m-${++n}` });

describe('delivery records under a lane', () => {
  it('begins, claims, records and finishes a message in a handful of requests, whatever its recipients', async () => {
    const { records, id } = fresh();
    const send = jest.spyOn(table.doc, 'send');
    const o = records.outcomes('acme', id, Date.now);
    expect(await o.begin({ kind: 'notify', hash: 'h1' })).toEqual({ conflict: false, attempts: 1, firstSeenAt: expect.any(Number) });
    const users = Array.from({ length: 30 }, (_, i) => `u${i}`);
    expect(await Promise.all(users.map((u) => o.claim('user', u, 'attempt-1')))).toEqual(users.map(() => 'claimed'));
    expect(await Promise.all(users.map((u) => o.record('user', u, 'attempt-1', { status: 'sent' })))).toEqual(users.map(() => true));
    await o.finish('done');
    // BatchGetItem + the begin's put, the claims' batch, the outcomes' batch, the final state.
    expect(send.mock.calls.length).toBeLessThanOrEqual(6);
    send.mockRestore();
    const out = await readOutcome(table, 'acme', id);
    expect(out.message).toMatchObject({ state: 'done', attempts: 1, hash: 'h1' });
    expect(out.recipients.filter((r) => r.status === 'sent')).toHaveLength(30);
  });

  it('refuses a claim when another attempt wrote the record after this one read it', async () => {
    const { records, id } = fresh();
    const o = records.outcomes('acme', id, Date.now);
    await o.begin({ kind: 'notify', hash: 'h1' });
    // Another holder (this one lost its lane) delivered u1 meanwhile.
    await table.doc.send(new PutCommand({ TableName: table.name, Item: { ...recipientItemKey('acme', id, 'user', 'u1'), channel: 'user', to: 'u1', status: 'sent', updatedAt: new Date().toISOString() } }));
    expect(await o.claim('user', 'u1', 'attempt-1')).toBe(false);
    expect(await o.claim('user', 'u2', 'attempt-1')).toBe('claimed');
    expect((await readOutcome(table, 'acme', id)).recipients.find((r) => r.to === 'u1')?.status).toBe('sent');
  });

  it("refuses an outcome once the claim is another attempt's, and writes the others of the batch", async () => {
    const { records, id } = fresh();
    const o = records.outcomes('acme', id, Date.now);
    await o.begin({ kind: 'notify', hash: 'h1' });
    await Promise.all(['u1', 'u2'].map((u) => o.claim('user', u, 'attempt-1')));
    await table.doc.send(new PutCommand({ TableName: table.name, Item: { ...recipientItemKey('acme', id, 'user', 'u1'), channel: 'user', to: 'u1', status: 'pending', attemptId: 'attempt-2', updatedAt: new Date().toISOString() } }));
    expect(await Promise.all(['u1', 'u2'].map((u) => o.record('user', u, 'attempt-1', { status: 'retry', code: 'x' })))).toEqual([false, true]);
    const byUser = Object.fromEntries((await readOutcome(table, 'acme', id)).recipients.map((r) => [r.to, r]));
    expect(byUser.u1).toMatchObject({ status: 'pending', attemptId: 'attempt-2' });
    expect(byUser.u2).toMatchObject({ status: 'retry', attemptId: 'attempt-1' });
  });

  it('a message seen before begins the usual way (its attempts counted), and a re-used id with other content is refused', async () => {
    const { records, id } = fresh();
    await records.outcomes('acme', id, Date.now).begin({ kind: 'notify', hash: 'h1' });
    const again = new LaneRecords(table, 20);
    expect(await again.outcomes('acme', id, Date.now).begin({ kind: 'notify', hash: 'h1' })).toEqual({ conflict: false, attempts: 2, firstSeenAt: expect.any(Number) });
    expect(await again.outcomes('acme', id, Date.now).begin({ kind: 'notify', hash: 'other' })).toMatchObject({ conflict: true });
  });
});
