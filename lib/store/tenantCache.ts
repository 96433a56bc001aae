import type { Tenant } from '../contracts/tenant';
import type { Table } from './table';
import { getTenant } from './tenants';

/**
 * Tenant lookups kept in memory for `ttlMs` (default 60 s): a warm Lambda instance reads each
 * tenant about once a minute instead of once per message. A changed record (a raised quota, a new
 * secret) takes effect within the TTL.
 *
 * @example
 * const tenants = cachedTenants(table);
 * const tenant = await tenants('acme');
 */
export function cachedTenants(table: Table, ttlMs = 60_000, now: () => number = Date.now): (tenantId: string) => Promise<Tenant | undefined> {
  const cache = new Map<string, { at: number; value: Promise<Tenant | undefined> }>();
  return (tenantId) => {
    const hit = cache.get(tenantId);
    if (hit && now() - hit.at < ttlMs) return hit.value;
    const value = getTenant(table, tenantId);
    cache.set(tenantId, { at: now(), value });
    value.catch(() => cache.delete(tenantId));
    return value;
  };
}
