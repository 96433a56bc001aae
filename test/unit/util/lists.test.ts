import { BATCH_SEND_MAX_USERS } from '../../../lib/dingtalk/client';
import { chunk, dedupe } from '../../../lib/util/lists';
import { maskMobile } from '../../../lib/util/mask';
import { runPool } from '../../../lib/util/pool';

describe('recipients', () => {
  it('45 users make three batches of 20, 20 and 5', () => {
    const users = Array.from({ length: 45 }, (_, i) => `u${i}`);
    expect(chunk(users, BATCH_SEND_MAX_USERS).map((c) => c.length)).toEqual([20, 20, 5]);
    expect(chunk(users, 20).flat()).toEqual(users);
  });

  it('exact multiples and empty lists', () => {
    expect(chunk(Array(40).fill('u'), 20).map((c) => c.length)).toEqual([20, 20]);
    expect(chunk([], 20)).toEqual([]);
    expect(() => chunk([1], 0)).toThrow(RangeError);
  });

  it('duplicates are dropped, order kept', () => {
    expect(dedupe(['b', 'a', 'b', 'c', 'a'])).toEqual(['b', 'a', 'c']);
    expect(dedupe(undefined)).toEqual([]);
  });

  it('mobiles are masked in logs', () => {
    expect(maskMobile('13800000001')).toBe('138****0001');
    expect(maskMobile('12345')).toBe('****');
  });

  it('runPool runs at most `limit` at once and reports the first error after all settled', async () => {
    let running = 0;
    let peak = 0;
    const done: number[] = [];
    const tasks = Array.from({ length: 7 }, (_, i) => async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      done.push(i);
      if (i === 2) throw new Error('boom');
    });
    await expect(runPool(tasks, 3)).rejects.toThrow('boom');
    expect(peak).toBe(3);
    expect(done.sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });
});
