import { printCalls } from '../callLog';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { startSimulator, type SimApp, type Simulator } from './simulator';
import type { Table } from '../../../lib/store/table';
import { listTenants } from '../../../lib/store/tenants';
import { limitsOf } from '../../../lib/contracts/tenant';
import { getAppSecret, type AppTenant, type TenantRecord } from '../../../lib/store/secrets';

export const SIMULATOR_SEED = resolve(__dirname, 'seed.json');

interface Seed {
  organisations: Array<{
    corpId: string;
    users: Array<{ userId: string; mobile?: string }>;
    groups: Array<{ openConversationId: string; coolAppCode?: string; robotCodes?: string[] }>;
    templates: Array<{ templateId: string; botId: string; installDelayMs?: number }>;
  }>;
}

/** Loads users, groups and war-room templates into the simulator (the org's "real" DingTalk data). */
export function seedSimulator(sim: Simulator, seed: Seed = JSON.parse(readFileSync(SIMULATOR_SEED, 'utf8'))): void {
  for (const org of seed.organisations) {
    for (const u of org.users) sim.addUser(org.corpId, u);
    for (const g of org.groups) sim.addGroup(org.corpId, g);
    for (const t of org.templates) sim.addTemplate(org.corpId, t);
  }
}

/** A tenant's app as the simulator knows it (credentials, QPS, quota). */
const simApp = (t: AppTenant): SimApp => {
  const limits = limitsOf(t);
  return { clientId: t.clientId, clientSecret: t.clientSecret, corpId: t.corpId, qps: limits.qps, monthlyQuota: limits.monthlyQuota };
};

/** The app of the tenant with this Client ID, if any: a tenant just put is known at its first token request. */
async function appOf(table: Table, clientId: string): Promise<SimApp | undefined> {
  const t = (await listTenants(table)).find((x) => x.clientId === clientId);
  return t && simAppOf(table, t);
}

/** The record with its app secret (as DingTalk knows the app); undefined while the secret is not written yet. */
async function simAppOf(table: Table, t: TenantRecord): Promise<SimApp | undefined> {
  const clientSecret = await getAppSecret(table, t.tenantId);
  return clientSecret === undefined ? undefined : simApp({ ...t, clientSecret });
}

/**
 * Registers every tenant's app (credentials, QPS, quota) with the simulator, as DingTalk knows them,
 * and its card template as published (the tenant built it in the card platform: docs/two-way.md).
 */
export async function syncApps(sim: Simulator, table: Table): Promise<void> {
  for (const t of await listTenants(table)) {
    const app = await simAppOf(table, t);
    if (app) sim.addApp(app);
    if (app && t.cardTemplateId) sim.addCardTemplate(t.clientId, { templateId: t.cardTemplateId, published: true });
  }
}

/**
 * The simulator as the local stack runs it: seeded, tenants' apps synced every 2 s, and every call
 * DingTalk would have received printed as one line.
 */
export async function startLocalSimulator(table: Table, opts: { port?: number; jitterMs?: [number, number]; print?: (line: string) => void } = {}) {
  const sim = await startSimulator({ port: opts.port ?? 0, jitterMs: opts.jitterMs, lookupApp: (clientId) => appOf(table, clientId) });
  seedSimulator(sim);
  await syncApps(sim, table);
  const stopPrinting = printCalls(
    sim.calls,
    (c) => `[dingtalk-simulator] ${c.api} app=${c.clientId ?? '-'} status=${c.status}${c.code ? ` code=${c.code}` : ''}`,
    opts.print,
    () => void syncApps(sim, table).catch(() => undefined),
  );
  return {
    sim,
    stop: async () => {
      stopPrinting();
      await sim.close();
    },
  };
}
