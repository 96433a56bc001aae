import { ValidationError } from '../../../lib/errors';
import { EDITIONS, limitsOf, maskTenant, parseTenant, tenantSchema, type Tenant } from '../../../lib/contracts/tenant';
import { aTenant } from '../../support/factories';

/** The raw JSON an operator would put in the file given to `npm run tenant -- put`. */
const aRecord = (over: Record<string, unknown> = {}): Record<string, unknown> => ({ ...aTenant(), ...over });

/** The ValidationError parseTenant throws for `input` (fails the test if it does not throw). */
function rejectionOf(input: unknown): ValidationError {
  try {
    parseTenant(input);
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return e as ValidationError;
  }
  throw new Error('expected the tenant record to be rejected');
}

const BASE64_43 = 'Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7';

describe('a tenant record', () => {
  it('that is complete and valid is accepted unchanged', () => {
    const record = aTenant({ warRoomTemplateId: 'tpl-1', warRoomBotId: 'bot-1' });
    expect(parseTenant(record)).toEqual(record);
  });

  it('may give agentId as a number, which is stored as a string', () => {
    expect(parseTenant(aRecord({ agentId: 3000000001 })).agentId).toBe('3000000001');
  });

  describe('aesKey', () => {
    it.each([
      ['the console sample', BASE64_43],
      ['digits only', '1234567890123456789012345678901234567890123'],
      ['with + and /', `${'A'.repeat(41)}+/`],
    ])('of 43 Base64 characters is accepted (%s)', (_label, aesKey) => {
      expect(parseTenant(aRecord({ aesKey })).aesKey).toBe(aesKey);
    });

    it.each([
      ['42 characters', BASE64_43.slice(1)],
      ['44 characters', `${BASE64_43}A`],
      ['with its = padding', `${BASE64_43}=`],
      ['URL-safe alphabet (-)', `${BASE64_43.slice(0, 42)}-`],
      ['URL-safe alphabet (_)', `${BASE64_43.slice(0, 42)}_`],
      ['a space inside', `${BASE64_43.slice(0, 20)} ${BASE64_43.slice(21)}`],
      ['empty', ''],
    ])('is rejected when %s', (_label, aesKey) => {
      const err = rejectionOf(aRecord({ aesKey }));
      expect(err.issues.some((i) => i.startsWith('aesKey:'))).toBe(true);
      expect(err.message).not.toContain(aesKey || '\u0000');
    });
  });

  describe('edition', () => {
    it.each(['standard', 'professional', 'exclusive'])('"%s" is accepted', (edition) => {
      expect(parseTenant(aRecord({ edition })).edition).toBe(edition);
    });

    it.each(['Standard', 'enterprise', '', undefined])('%p is rejected', (edition) => {
      const err = rejectionOf(aRecord({ edition }));
      expect(err.issues.some((i) => i.startsWith('edition:'))).toBe(true);
    });
  });

  describe('qps and monthlyQuota overrides', () => {
    it('are optional', () => {
      const t = parseTenant(aRecord());
      expect(t.qps).toBeUndefined();
      expect(t.monthlyQuota).toBeUndefined();
    });

    it('accept positive whole numbers (and a zero quota)', () => {
      expect(parseTenant(aRecord({ qps: 15, monthlyQuota: 5000 }))).toMatchObject({ qps: 15, monthlyQuota: 5000 });
      expect(parseTenant(aRecord({ monthlyQuota: 0 })).monthlyQuota).toBe(0);
    });

    it.each([
      ['qps', 0],
      ['qps', -1],
      ['qps', 1.5],
      ['qps', '20'],
      ['monthlyQuota', -1],
      ['monthlyQuota', 10.5],
      ['monthlyQuota', '5000'],
    ])('%s = %p is rejected', (field, value) => {
      const err = rejectionOf(aRecord({ [field]: value }));
      expect(err.issues.some((i) => i.startsWith(`${field}:`))).toBe(true);
    });
  });

  describe('locale', () => {
    it.each(['zh-CN', 'en'])('%s is accepted', (locale) => {
      expect(parseTenant(aRecord({ locale })).locale).toBe(locale);
    });

    it('may be left out (the bridge then writes Chinese)', () => {
      expect(parseTenant(aRecord()).locale).toBeUndefined();
    });

    it.each(['zh', 'zh-TW', 'fr', 'EN', ''])('%j is rejected', (locale) => {
      expect(rejectionOf(aRecord({ locale })).message).toMatch(/locale/);
    });
  });

  it('with an unknown key (a typo) is rejected rather than silently ignored', () => {
    const err = rejectionOf(aRecord({ clientsecret: 'oops', monthly_quota: 5000 }));
    expect(err.message).toMatch(/clientsecret/);
    expect(err.message).toMatch(/monthly_quota/);
  });

  it('with several bad fields is rejected with every one of them listed', () => {
    // given
    const record = aRecord({ tenantId: 'bad id!', aesKey: 'short', token: 'has space', edition: 'gold', qps: -5, corpId: '' });
    delete record.clientSecret;
    // when
    const err = rejectionOf(record);
    // then
    const fields = err.issues.map((i) => i.split(':')[0]);
    expect(fields).toEqual(expect.arrayContaining(['tenantId', 'aesKey', 'token', 'edition', 'qps', 'corpId', 'clientSecret']));
    for (const f of ['tenantId', 'aesKey', 'token', 'edition', 'qps', 'corpId', 'clientSecret']) expect(err.message).toContain(f);
  });

  it('that is not an object is rejected', () => {
    expect(() => parseTenant(null)).toThrow(ValidationError);
    expect(() => parseTenant('tenant')).toThrow(ValidationError);
  });

  it('is validated by the same schema the store uses', () => {
    expect(tenantSchema.safeParse(aTenant()).success).toBe(true);
    expect(tenantSchema.safeParse({ ...aTenant(), extra: 1 }).success).toBe(false);
  });
});

describe('limitsOf', () => {
  it.each(Object.entries(EDITIONS))('gives the %s edition defaults when nothing is overridden', (edition, defaults) => {
    expect(limitsOf(aTenant({ edition: edition as Tenant['edition'] }))).toEqual(defaults);
  });

  it('matches the published edition table', () => {
    expect(EDITIONS).toEqual({
      standard: { qps: 20, monthlyQuota: 10_000 },
      professional: { qps: 40, monthlyQuota: 500_000 },
      exclusive: { qps: 60, monthlyQuota: 5_500_000 },
    });
  });

  it('lets the overrides win over the edition (DingTalk changed Standard to 5,000 calls)', () => {
    expect(limitsOf(aTenant({ edition: 'standard', monthlyQuota: 5000 }))).toEqual({ qps: 20, monthlyQuota: 5000 });
    expect(limitsOf(aTenant({ edition: 'exclusive', qps: 10 }))).toEqual({ qps: 10, monthlyQuota: 5_500_000 });
    expect(limitsOf(aTenant({ edition: 'professional', qps: 5, monthlyQuota: 0 }))).toEqual({ qps: 5, monthlyQuota: 0 });
  });
});

describe('maskTenant', () => {
  it('hides clientSecret, aesKey and token but keeps everything else', () => {
    // given
    const tenant = aTenant({ qps: 7, warRoomTemplateId: 'tpl-9' });
    // when
    const masked = maskTenant(tenant);
    const printed = JSON.stringify(masked);
    // then
    for (const secret of [tenant.clientSecret, tenant.aesKey, tenant.token]) expect(printed).not.toContain(secret);
    expect(masked).toMatchObject({
      tenantId: tenant.tenantId,
      corpId: tenant.corpId,
      agentId: tenant.agentId,
      clientId: tenant.clientId,
      edition: tenant.edition,
      qps: 7,
      warRoomTemplateId: 'tpl-9',
    });
    expect(masked.aesKey).not.toBe(tenant.aesKey);
    expect(masked.token).not.toBe(tenant.token);
    expect(masked.clientSecret).not.toBe(tenant.clientSecret);
  });

  it('does not change the tenant it is given', () => {
    const tenant = aTenant();
    const copy = { ...tenant };
    maskTenant(tenant);
    expect(tenant).toEqual(copy);
  });

  it('reveals nothing of a short secret', () => {
    const tenant = aTenant({ token: 'abc123' });
    expect(maskTenant(tenant).token).toBe('****');
  });
});
