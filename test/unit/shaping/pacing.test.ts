import { waitForSlot } from '../../../lib/shaping/pacing';

/** A fake clock whose sleep advances time by the asked delay plus a scripted lateness. */
function fakeTime(start: number, lateness: number[] = []) {
  let now = start;
  const sleeps: number[] = [];
  return {
    clock: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms + (lateness.shift() ?? 0);
    },
    advance: (ms: number) => void (now += ms),
    sleeps,
  };
}

describe('waiting for a slot', () => {
  it('sleeps until the slot and then says fire', async () => {
    const t = fakeTime(1000);
    await expect(waitForSlot(1100, t.clock, t.sleep)).resolves.toBe(true);
    expect(t.clock()).toBe(1100);
  });

  it('fires a little late within the tolerance', async () => {
    const t = fakeTime(1000, [3]);
    await expect(waitForSlot(1100, t.clock, t.sleep, 3)).resolves.toBe(true);
  });

  it('refuses to fire when the timer woke later than the tolerance', async () => {
    const t = fakeTime(1000, [4]);
    await expect(waitForSlot(1100, t.clock, t.sleep, 3)).resolves.toBe(false);
  });

  it('refuses at once when the slot is already long past', async () => {
    const t = fakeTime(2000);
    await expect(waitForSlot(1100, t.clock, t.sleep)).resolves.toBe(false);
    expect(t.sleeps).toEqual([]);
  });

  it('sleeps again when a timer fires early, never firing before the slot', async () => {
    const t = fakeTime(1000, [-2]);
    await expect(waitForSlot(1100, t.clock, t.sleep)).resolves.toBe(true);
    expect(t.sleeps).toEqual([100, 2]);
    expect(t.clock()).toBe(1100);
  });

  it('rounds a fractional slot up', async () => {
    const t = fakeTime(1000);
    await expect(waitForSlot(1052.75, t.clock, t.sleep)).resolves.toBe(true);
    expect(t.clock()).toBe(1053);
  });
});
