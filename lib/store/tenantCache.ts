/** Most ids a cache holds: past it the oldest go first, so a flood of random ids cannot grow memory without bound. */
export const MAX_CACHED_IDS = 10_000;

/** How long an unknown id is remembered: short, so a tenant registered just now answers within seconds. */
export const MISS_TTL_MS = 10_000;

export interface CacheOptions {
  /** How long a found tenant is kept. @default 60 s */
  ttlMs?: number;
  /** How long an unknown id is remembered. @default {@link MISS_TTL_MS} (10 s) */
  missTtlMs?: number;
  /** Remember only unknown ids (undefined), look every known one up again. @default false */
  missesOnly?: boolean;
  now?: () => number;
}

/**
 * Tenant lookups kept in memory for `ttlMs` (default 60 s): a warm Lambda instance reads each
 * tenant about once a minute instead of once per message, and an unknown id (undefined) is
 * remembered for `missTtlMs` (default 10 s), so a flood of made-up ids costs one read per id per
 * instance per 10 s, and a tenant registered just now (DingTalk's check_url right after
 * `tenant put`) is found within 10 s.
 * A changed record (a raised quota, a new secret) takes effect within the TTL; with `missesOnly`
 * only unknown ids are remembered (a new tenant still waits out the TTL where it was asked for).
 * `load` is the lookup: the record (lib/store/tenants.ts), the callback's secrets, or the record
 * with its app secret (lib/store/secrets.ts).
 *
 * @example
 * const tenants = cachedTenants((id) => getTenant(table, id));
 * const tenant = await tenants('acme');
 */
export function cachedTenants<T>(load: (tenantId: string) => Promise<T | undefined>, opts: CacheOptions = {}): (tenantId: string) => Promise<T | undefined> {
  const { ttlMs = 60_000, missTtlMs = MISS_TTL_MS, missesOnly = false, now = Date.now } = opts;
  const cache = new Map<string, { at: number; ttl: number; value: Promise<T | undefined> }>();
  return (tenantId) => {
    const hit = cache.get(tenantId);
    if (hit && now() - hit.at < hit.ttl) return hit.value;
    cache.delete(tenantId);
    const value = load(tenantId);
    const entry = { at: now(), ttl: ttlMs, value };
    cache.set(tenantId, entry);
    if (cache.size > MAX_CACHED_IDS) cache.delete(cache.keys().next().value!);
    value.then(
      (v) => {
        if (v === undefined) entry.ttl = Math.min(ttlMs, missTtlMs);
        else if (missesOnly) cache.delete(tenantId);
      },
      () => cache.delete(tenantId),
    );
    return value;
  };
}
