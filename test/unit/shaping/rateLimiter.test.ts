import { ContentionError } from '../../../lib/shaping/errors';
import { RateLimiter } from '../../../lib/shaping/rateLimiter';
import type { Table } from '../../../lib/store/table';

type Input = { ConditionExpression: string; ExpressionAttributeValues: Record<string, number> };

/**
 * An in-memory stand-in for the one DynamoDB item the limiter writes, evaluating its two
 * condition forms. `interfere` runs before each write, like another instance racing.
 */
function fakeTable(interfere: (item: { tat?: number }) => void = () => undefined) {
  const item: { tat?: number } = {};
  const writes: Input[] = [];
  const send = async (cmd: { input: Input }) => {
    interfere(item);
    const { ConditionExpression: cond, ExpressionAttributeValues: v } = cmd.input;
    writes.push(cmd.input);
    const ok = cond.startsWith('attribute_not_exists') ? item.tat === undefined || item.tat <= v[':earliest'] : item.tat === v[':prev'];
    if (!ok) throw Object.assign(new Error('conditional'), { name: 'ConditionalCheckFailedException', Item: { tat: { N: String(item.tat) } } });
    item.tat = v[':tat'];
    return {};
  };
  return { table: { name: 't', doc: { send } } as unknown as Table, item, writes };
}

const key = { clientId: 'dingapp', api: 'robot.batchSend' };

describe('reserving slots', () => {
  it('retries from the tat a racing instance wrote, in as many writes as races lost', async () => {
    // given: another instance moves tat 100 ms ahead before each of our first two writes
    let races = 2;
    const f = fakeTable((item) => {
      if (races-- > 0) item.tat = (item.tat ?? 1000) + 100;
    });
    // when
    const r = await new RateLimiter(f.table, { leadMs: 0 }).reserve(key, 2, 20, 1000);
    // then
    expect(r.slots).toEqual([1200, 1253]);
    expect(f.writes.map((w) => w.ConditionExpression)).toEqual(['attribute_not_exists(tat) OR tat <= :earliest', 'tat = :prev', 'tat = :prev']);
  });

  it('gives up with a retryable ContentionError when every attempt loses', async () => {
    const f = fakeTable((item) => void (item.tat = (item.tat ?? 2000) + 1));
    const err = await new RateLimiter(f.table, { maxAttempts: 5 }).reserve(key, 1, 20, 1000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContentionError);
    expect((err as ContentionError).retryable).toBe(true);
    expect(f.writes).toHaveLength(5);
  });

  it('answers retryAfterMs without a write when the tat it saw is already beyond the horizon', async () => {
    const f = fakeTable();
    const limiter = new RateLimiter(f.table, { horizonMs: 500, leadMs: 0 });
    await limiter.reserve(key, 10, 20, 1000); // tat = 1530
    const r = await limiter.reserve(key, 1, 20, 1000);
    expect(r).toEqual({ slots: [], retryAfterMs: 30 });
    expect(f.writes).toHaveLength(1);
  });

  it('reads the clock again on each attempt when no time is pinned', async () => {
    let now = 5000;
    const f = fakeTable((item) => {
      if (item.tat === undefined) item.tat = 4000;
      now += 10;
    });
    const r = await new RateLimiter(f.table, { leadMs: 25, clock: () => now }).reserve(key, 1, 20);
    expect(r.slots).toEqual([5025]);
  });

  it('rejects a non-positive count', async () => {
    await expect(new RateLimiter(fakeTable().table).reserve(key, 0, 20)).rejects.toThrow(RangeError);
  });
});
