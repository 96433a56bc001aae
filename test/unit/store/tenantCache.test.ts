import { cachedTenants, MAX_CACHED_IDS } from '../../../lib/store/tenantCache';

/** A lookup that counts its reads; `known` ids are found. */
function aLookup(known: string[] = []) {
  const reads: string[] = [];
  const load = async (id: string) => (reads.push(id), known.includes(id) ? { tenantId: id } : undefined);
  return { reads, load };
}

describe('the tenant cache', () => {
  it('remembers an unknown id for 10 s, then looks it up again (a tenant put just now is found within 10 s)', async () => {
    let now = 0;
    const { reads, load } = aLookup();
    const get = cachedTenants(load, { missesOnly: true, now: () => now });
    expect(await get('ghost')).toBeUndefined();
    now = 9_999;
    expect(await get('ghost')).toBeUndefined();
    expect(reads).toEqual(['ghost']);
    now = 10_000;
    await get('ghost');
    expect(reads).toEqual(['ghost', 'ghost']);
  });

  it('keeps a found tenant for its TTL but an unknown id only 10 s', async () => {
    let now = 0;
    const { reads, load } = aLookup(['acme']);
    const get = cachedTenants(load, { ttlMs: 60_000, now: () => now });
    await get('acme');
    await get('ghost');
    now = 10_000;
    await get('acme');
    await get('ghost');
    expect(reads).toEqual(['acme', 'ghost', 'ghost']);
  });

  it('with missesOnly, looks a known tenant up every time (a new secret applies at once)', async () => {
    const { reads, load } = aLookup(['acme']);
    const get = cachedTenants(load, { missesOnly: true, now: () => 0 });
    await get('acme');
    await get('acme');
    expect(reads).toEqual(['acme', 'acme']);
  });

  it('without it, keeps a known tenant for the TTL', async () => {
    const { reads, load } = aLookup(['acme']);
    const get = cachedTenants(load, { ttlMs: 10_000, now: () => 0 });
    await get('acme');
    expect(await get('acme')).toEqual({ tenantId: 'acme' });
    expect(reads).toEqual(['acme']);
  });

  it('holds at most MAX_CACHED_IDS ids: a flood of made-up ids forgets the oldest first', async () => {
    const { reads, load } = aLookup();
    const get = cachedTenants(load, { missesOnly: true, now: () => 0 });
    for (let i = 0; i <= MAX_CACHED_IDS; i++) await get(`ghost-${i}`);
    await get(`ghost-${MAX_CACHED_IDS}`);
    await get('ghost-0');
    expect(reads.length).toBe(MAX_CACHED_IDS + 2);
    expect(reads.at(-1)).toBe('ghost-0');
  });
});
