import { ensureLinkKey, getLinkKey, LINK_KEY_BYTES } from '../../../lib/store/linkSecrets';
import { useLocalTable } from '../../support/localAws';

/** The link-signing key: made once per tenant, the same for every mint after (docs/two-way.md, "Linking"). */
const table = useLocalTable();

describe('link-signing keys', () => {
  it('is absent until the first mint, then 32 random bytes per tenant', async () => {
    expect(await getLinkKey(table, 'acme-keys')).toBeUndefined();
    const key = await ensureLinkKey(table, 'acme-keys', Date.now());
    expect(key).toHaveLength(LINK_KEY_BYTES);
    expect(await getLinkKey(table, 'acme-keys')).toEqual(key);
    expect(await ensureLinkKey(table, 'other-keys', Date.now())).not.toEqual(key);
  });

  it('first mints at once end with one key (the conditional put)', async () => {
    const keys = await Promise.all(Array.from({ length: 8 }, () => ensureLinkKey(table, 'race-keys', Date.now())));
    for (const k of keys) expect(k).toEqual(keys[0]);
    expect(await getLinkKey(table, 'race-keys')).toEqual(keys[0]);
  });
});
