import { randomBytes } from 'node:crypto';
import { checkLink, linkSignature, LinkExpiredError, LinkInvalidError, parseLinkParams } from '../../../lib/links/token';

/** Link URLs' signatures, checked without a table (lib/links/token.ts; docs/two-way.md, "Linking"). */

const key = randomBytes(32);
const NOW = 1_900_000_000; // epoch s
const member = '2476444212131';
const e = String(NOW + 7 * 86_400);
const signed = (over: Partial<{ tenantId: string; m: string; e: string }> = {}) => {
  const p = { tenantId: 'acme', m: member, e, ...over };
  return { m: p.m, e: p.e, s: linkSignature(key, p.tenantId, p.m, p.e) };
};

describe('link signatures', () => {
  it('accepts a link signed for this tenant and member, before its expiry', () => {
    expect(checkLink(key, 'acme', signed(), NOW)).toEqual({ memberId: member, expiresAt: Number(e) });
    expect(signed().s).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('refuses a link whose member was changed', () => {
    expect(() => checkLink(key, 'acme', { ...signed(), m: '2476444212132' }, NOW)).toThrow(LinkInvalidError);
  });

  it("refuses another tenant's link, and one signed with another key", () => {
    expect(() => checkLink(key, 'other', signed(), NOW)).toThrow(LinkInvalidError);
    expect(() => checkLink(randomBytes(32), 'acme', signed(), NOW)).toThrow(LinkInvalidError);
    expect(() => checkLink(undefined, 'acme', signed(), NOW)).toThrow(LinkInvalidError);
  });

  it('refuses an expired link as expired (410), and a pushed-out expiry as invalid (400)', () => {
    const past = signed({ e: String(NOW - 1) });
    expect(() => checkLink(key, 'acme', past, NOW)).toThrow(LinkExpiredError);
    expect(() => checkLink(key, 'acme', signed({ e: String(NOW) }), NOW)).toThrow(LinkExpiredError);
    let status = 0;
    try {
      checkLink(key, 'acme', { ...past, e: String(NOW + 86_400) }, NOW);
    } catch (err) {
      status = (err as LinkInvalidError).status;
    }
    expect(status).toBe(400);
    expect(new LinkExpiredError().status).toBe(410);
  });

  it('refuses a changed or truncated signature', () => {
    const s = signed().s;
    const flipped = `${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`;
    expect(() => checkLink(key, 'acme', { ...signed(), s: flipped }, NOW)).toThrow(LinkInvalidError);
    expect(() => checkLink(key, 'acme', { ...signed(), s: s.slice(0, 42) }, NOW)).toThrow(LinkInvalidError);
  });

  it('refuses malformed parameters before comparing anything', () => {
    for (const bad of [{}, { m: 'abc', e, s: signed().s }, { m: member, e: '-5', s: signed().s }, { m: member, e, s: 'x'.repeat(43) + '=' }, { m: [member], e, s: signed().s }]) {
      expect(() => parseLinkParams(bad as never)).toThrow(LinkInvalidError);
    }
  });
});
