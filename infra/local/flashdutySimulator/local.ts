import { printCalls } from '../callLog';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { startFlashdutySimulator, type FdAppKey, type FdIncidentSeed, type FdMember, type FlashdutySimulator } from './simulator';

export const FLASHDUTY_SEED = resolve(__dirname, 'seed.json');

interface Seed {
  accounts: Array<{ accountId: number; appKeys: Array<Omit<FdAppKey, 'accountId'>>; members: FdMember[]; incidents: FdIncidentSeed[] }>;
}

/** Loads accounts (APP Keys), members and incidents into the simulator: the demo Flashduty account of the local stack. */
export function seedFlashduty(sim: FlashdutySimulator, seed: Seed = JSON.parse(readFileSync(FLASHDUTY_SEED, 'utf8'))): void {
  for (const a of seed.accounts) {
    for (const k of a.appKeys) sim.addAccount({ ...k, accountId: a.accountId });
    for (const m of a.members) sim.addMember(a.accountId, m);
    for (const i of a.incidents) sim.addIncident(a.accountId, i);
  }
}

/** The seed's account ids (where the simulator control looks an incident up). */
export function seedAccountIds(seed: Seed = JSON.parse(readFileSync(FLASHDUTY_SEED, 'utf8'))): number[] {
  return seed.accounts.map((a) => a.accountId);
}

/**
 * The Flashduty simulator as the local stack runs it: seeded from seed.json, and every call it
 * receives printed as one line (no app key, no body).
 */
export async function startLocalFlashduty(opts: { port?: number; print?: (line: string) => void } = {}) {
  const sim = await startFlashdutySimulator({ port: opts.port ?? 0 });
  seedFlashduty(sim);
  const stopPrinting = printCalls(sim.calls, (c) => `[flashduty-simulator] ${c.api} account=${c.accountId ?? '-'} status=${c.status}${c.code ? ` code=${c.code}` : ''}`, opts.print);
  return {
    sim,
    stop: async () => {
      stopPrinting();
      await sim.close();
    },
  };
}
