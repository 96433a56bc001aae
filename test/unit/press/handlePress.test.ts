import { handlePress, type PressDeps } from '../../../lib/press/handlePress';
import { pressSignature, SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../../../lib/press/verify';

/** The press steps with in-memory stores: what a failure to queue leaves behind. */
describe('handlePress, when the action cannot be queued', () => {
  const now = 1_796_000_000_000;
  const presses = new Set<string>();
  const deps = (enqueue: PressDeps['enqueue']): PressDeps => ({
    getTenant: async () => ({ tenantId: 'acme', corpId: 'dingcorp', locale: 'en' }),
    getCardSecret: async () => ({ apiSecret: 'secret' }),
    getCard: async () => ({ tenantId: 'acme', incidentId: 'i1', outTrackId: 'c1', space: 'user', to: 'u1', actions: ['ack'], messageId: 'n1', createdAt: '' }),
    recordPress: async (_t, ts) => (presses.has(ts) ? false : (presses.add(ts), true)),
    forgetPress: async (_t, ts) => void presses.delete(ts),
    getUserLink: async () => ({ memberId: '1', userId: 'u1', linkedAt: '' }),
    getIncidentState: async () => undefined,
    enqueue,
    now: () => now,
  });
  const request = {
    tenantId: 'acme',
    headers: { [TIMESTAMP_HEADER]: String(now), [SIGNATURE_HEADER]: pressSignature('secret', String(now)) },
    body: JSON.stringify({ type: 'actionCallback', outTrackId: 'c1', corpId: 'dingcorp', userId: 'u1', content: JSON.stringify({ cardPrivateData: { actionIds: ['ack'], params: { action: 'ack' } } }) }),
  };

  it('a table error looking up the presser\'s link forgets the press too', async () => {
    const failing = { ...deps(async () => undefined), getUserLink: async () => { throw new Error('throttled'); } };
    await expect(handlePress(failing, request)).rejects.toThrow('throttled');
    expect(presses.size).toBe(0);
  });

  it('forgets the press, so DingTalk retrying it is served and not refused as a replay', async () => {
    await expect(handlePress(deps(async () => { throw new Error('SQS down'); }), request)).rejects.toThrow('SQS down');
    expect(presses.size).toBe(0);
    const queued: unknown[] = [];
    const retry = await handlePress(deps(async (a) => void queued.push(a)), request);
    expect(retry.outcome).toBe('queued');
    expect(queued).toHaveLength(1);
  });
});
