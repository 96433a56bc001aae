import { randomBytes } from 'node:crypto';
import { handleCallback, timestampMs, type CallbackDeps, type CallbackRequest } from '../../../lib/callback/handleCallback';
import type { QueuedEvent } from '../../../lib/contracts/eventsMessage';
import { loadConfig } from '../../../lib/contracts/env';
import { MAX_CALLBACK_BODY_BYTES } from '../../../lib/contracts/routes';
import { decrypt, sealEnvelope, signature } from '../../../lib/dingtalk/crypto';
import { AuthError, BridgeError, NotFoundError, PayloadTooLargeError, ValidationError } from '../../../lib/errors';
import type { Tenant } from '../../../lib/contracts/tenant';
import { aTenant, signedPush } from '../../support/factories';

const NOW = Date.UTC(2025, 5, 1, 8, 0, 0); // a fixed clock, in ms
const HOUR_MS = 3600 * 1000;

/** In-memory dependencies with an injected clock; `queued` records everything enqueued. */
function aWorld(opts: { tenants?: Tenant[]; now?: number; windowSeconds?: number } = {}) {
  const tenants = new Map((opts.tenants ?? []).map((t) => [t.tenantId, t]));
  const queued: QueuedEvent[] = [];
  const clock = { now: opts.now ?? NOW };
  const deps: CallbackDeps = {
    getTenant: async (id) => tenants.get(id),
    enqueue: async (e) => void queued.push(e),
    now: () => clock.now,
    windowSeconds: opts.windowSeconds ?? loadConfig({ TABLE_NAME: 't' }).CALLBACK_WINDOW_SECONDS,
  };
  return { deps, queued, clock };
}

const checkUrl = () => ({ EventType: 'check_url' });
const titleChanged = (over: Record<string, unknown> = {}) => ({
  EventType: 'chat_update_title',
  eventId: `evt-${randomBytes(4).toString('hex')}`,
  EventTime: NOW,
  CorpId: 'ding-corp',
  chatId: 'chat1',
  openConversationId: 'cid-1',
  title: '支付告警群',
  operator: 'user1',
  ...over,
});

/** A request as the Lambda would pass it: DingTalk's signed push for `tenant`. */
function aPush(tenant: Tenant, event: Record<string, unknown>, opts: Parameters<typeof signedPush>[2] = {}) {
  const push = signedPush(tenant, event, { timestamp: String(NOW), ...opts });
  return { tenantId: tenant.tenantId, query: push.query, body: push.body } satisfies CallbackRequest;
}

/** Runs handleCallback expecting a typed rejection; returns it. */
async function rejection(deps: CallbackDeps, req: CallbackRequest): Promise<BridgeError> {
  const err = await handleCallback(deps, req).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BridgeError);
  return err as BridgeError;
}

describe('handleCallback', () => {
  describe('a valid push', () => {
    it('check_url is answered with an encrypted "success" and nothing is queued', async () => {
      // given
      const tenant = aTenant();
      const { deps, queued } = aWorld({ tenants: [tenant] });
      // when
      const out = await handleCallback(deps, aPush(tenant, checkUrl()));
      // then
      expect(out).toMatchObject({ eventType: 'check_url', queued: false });
      expect(queued).toHaveLength(0);
      const env = out.envelope;
      expect(env.timeStamp).toBe(String(NOW));
      expect(env.msg_signature).toBe(signature(tenant.token, env.timeStamp, env.nonce, env.encrypt));
      expect(decrypt(tenant.aesKey, env.encrypt)).toMatchObject({ message: 'success', receiverId: tenant.clientId });
    });

    it('a renamed group is queued with its tenant, event id, type and the title byte-exact', async () => {
      // given
      const tenant = aTenant();
      const { deps, queued } = aWorld({ tenants: [tenant] });
      const event = titleChanged({ title: '故障作战室🔥 P1' });
      // when
      const out = await handleCallback(deps, aPush(tenant, event));
      // then
      expect(out).toMatchObject({ eventType: 'chat_update_title', eventId: event.eventId, queued: true });
      expect(queued).toEqual([
        { tenantId: tenant.tenantId, eventId: event.eventId, eventType: 'chat_update_title', receivedAt: new Date(NOW).toISOString(), event },
      ]);
      expect(decrypt(tenant.aesKey, out.envelope.encrypt).message).toBe('success');
    });

    it('reads EventType case-insensitively', async () => {
      const tenant = aTenant();
      const { deps, queued } = aWorld({ tenants: [tenant] });
      await handleCallback(deps, aPush(tenant, { eventType: 'im_cool_app_install', EventId: 'e-1', CoolAppCode: 'cool' }));
      expect(queued).toMatchObject([{ eventType: 'im_cool_app_install', eventId: 'e-1' }]);
    });

    it('an event type we do not know is acknowledged with "success", never rejected', async () => {
      const tenant = aTenant();
      const { deps } = aWorld({ tenants: [tenant] });
      const out = await handleCallback(deps, aPush(tenant, { EventType: 'user_add_org', eventId: 'e-2' }));
      expect(out.eventType).toBe('user_add_org');
      expect(decrypt(tenant.aesKey, out.envelope.encrypt).message).toBe('success');
    });
  });

  describe('query parameter spellings', () => {
    it('accepts the older `signature` name for msg_signature', async () => {
      const tenant = aTenant();
      const { deps } = aWorld({ tenants: [tenant] });
      const req = aPush(tenant, checkUrl());
      const { msg_signature, ...rest } = req.query;
      const out = await handleCallback(deps, { ...req, query: { ...rest, signature: msg_signature } });
      expect(out.eventType).toBe('check_url');
    });

    it('accepts `timeStamp` for timestamp', async () => {
      const tenant = aTenant();
      const { deps } = aWorld({ tenants: [tenant] });
      const req = aPush(tenant, checkUrl());
      const { timestamp, ...rest } = req.query;
      const out = await handleCallback(deps, { ...req, query: { ...rest, timeStamp: timestamp } });
      expect(out.eventType).toBe('check_url');
    });

    it('accepts a signature in upper-case hex', async () => {
      const tenant = aTenant();
      const { deps } = aWorld({ tenants: [tenant] });
      const req = aPush(tenant, checkUrl());
      const out = await handleCallback(deps, { ...req, query: { ...req.query, msg_signature: req.query.msg_signature.toUpperCase() } });
      expect(out.eventType).toBe('check_url');
    });
  });

  describe('timestamp window', () => {
    it('defaults to one hour', () => {
      expect(loadConfig({ TABLE_NAME: 't' }).CALLBACK_WINDOW_SECONDS).toBe(3600);
    });

    it('reads 13-digit milliseconds and 10-digit seconds', () => {
      expect(timestampMs('1608001896814')).toBe(1608001896814);
      expect(timestampMs('1614767836')).toBe(1614767836000);
      expect(timestampMs('')).toBeNaN();
      expect(timestampMs('12ab')).toBeNaN();
      expect(timestampMs('-5')).toBeNaN();
    });

    const accepted: Array<[string, string]> = [
      ['now, in ms', String(NOW)],
      ['exactly 1 h old, in ms', String(NOW - HOUR_MS)],
      ['exactly 1 h ahead, in ms', String(NOW + HOUR_MS)],
      ['now, in seconds', String(NOW / 1000)],
      ['exactly 1 h old, in seconds', String((NOW - HOUR_MS) / 1000)],
    ];
    it.each(accepted)('a push stamped %s is accepted', async (_label, timestamp) => {
      const tenant = aTenant();
      const { deps, queued } = aWorld({ tenants: [tenant] });
      await handleCallback(deps, aPush(tenant, titleChanged(), { timestamp }));
      expect(queued).toHaveLength(1);
    });

    const rejected: Array<[string, string]> = [
      ['1 h + 1 s old, in ms', String(NOW - HOUR_MS - 1000)],
      ['1 h + 1 s in the future, in ms', String(NOW + HOUR_MS + 1000)],
      ['1 h + 1 s old, in seconds', String((NOW - HOUR_MS) / 1000 - 1)],
      ['1 h + 1 s in the future, in seconds', String((NOW + HOUR_MS) / 1000 + 1)],
      ['not a number', 'yesterday'],
      ['zero', '0'],
    ];
    it.each(rejected)('a push stamped %s is rejected 401 and nothing is queued', async (_label, timestamp) => {
      // given a correctly signed push with that timestamp
      const tenant = aTenant();
      const { deps, queued } = aWorld({ tenants: [tenant] });
      // when
      const err = await rejection(deps, aPush(tenant, titleChanged(), { timestamp }));
      // then
      expect(err).toBeInstanceOf(AuthError);
      expect(err.status).toBe(401);
      expect(queued).toHaveLength(0);
    });

    it('follows the injected clock: the same push goes stale as time passes', async () => {
      const tenant = aTenant();
      const { deps, queued, clock } = aWorld({ tenants: [tenant] });
      const req = aPush(tenant, titleChanged());
      await handleCallback(deps, req);
      clock.now = NOW + HOUR_MS + 1000;
      expect((await rejection(deps, req)).status).toBe(401);
      expect(queued).toHaveLength(1);
    });

    it('honours a configured window', async () => {
      const tenant = aTenant();
      const { deps, queued } = aWorld({ tenants: [tenant], windowSeconds: 60 });
      expect((await rejection(deps, aPush(tenant, titleChanged(), { timestamp: String(NOW - 61_000) }))).status).toBe(401);
      await handleCallback(deps, aPush(tenant, titleChanged(), { timestamp: String(NOW - 59_000) }));
      expect(queued).toHaveLength(1);
    });
  });

  describe('rejections (typed error, nothing queued)', () => {
    it.each(['msg_signature', 'timestamp', 'nonce'])('a push without %s is rejected 400', async (param) => {
      const tenant = aTenant();
      const { deps, queued } = aWorld({ tenants: [tenant] });
      const req = aPush(tenant, titleChanged());
      const query: Record<string, string | undefined> = { ...req.query };
      delete query[param];
      const err = await rejection(deps, { ...req, query });
      expect(err).toBeInstanceOf(ValidationError);
      expect(err.status).toBe(400);
      expect(err.message).toContain(param);
      expect(queued).toHaveLength(0);
    });

    it('a push with no query at all names every missing parameter', async () => {
      const tenant = aTenant();
      const { deps, queued } = aWorld({ tenants: [tenant] });
      const err = await rejection(deps, { ...aPush(tenant, titleChanged()), query: {} });
      expect(err.status).toBe(400);
      expect(err.message).toMatch(/msg_signature.*timestamp.*nonce/);
      expect(queued).toHaveLength(0);
    });

    it('a signature that is not 40 hex characters is rejected 400', async () => {
      const tenant = aTenant();
      const { deps, queued } = aWorld({ tenants: [tenant] });
      const req = aPush(tenant, titleChanged());
      const err = await rejection(deps, { ...req, query: { ...req.query, msg_signature: 'zz' } });
      expect(err.status).toBe(400);
      expect(queued).toHaveLength(0);
    });

    it.each([
      ['not JSON', 'encrypt=abc'],
      ['JSON without encrypt', '{"data":"abc"}'],
      ['encrypt not a string', '{"encrypt":42}'],
      ['encrypt not Base64', '{"encrypt":"not base64!"}'],
      ['a JSON array', '[]'],
      ['JSON null', 'null'],
      ['empty', ''],
    ])('a body that is %s is rejected 400', async (_label, body) => {
      const tenant = aTenant();
      const { deps, queued } = aWorld({ tenants: [tenant] });
      const err = await rejection(deps, { ...aPush(tenant, titleChanged()), body });
      expect(err).toBeInstanceOf(ValidationError);
      expect(err.status).toBe(400);
      expect(queued).toHaveLength(0);
    });

    it('a missing body is rejected 400', async () => {
      const tenant = aTenant();
      const { deps, queued } = aWorld({ tenants: [tenant] });
      const err = await rejection(deps, { ...aPush(tenant, titleChanged()), body: undefined });
      expect(err.status).toBe(400);
      expect(queued).toHaveLength(0);
    });

    it('a body over 64 KiB is rejected 413 before it is parsed', async () => {
      const tenant = aTenant();
      const { deps, queued } = aWorld({ tenants: [tenant] });
      const body = JSON.stringify({ encrypt: 'A'.repeat(MAX_CALLBACK_BODY_BYTES) });
      const err = await rejection(deps, { ...aPush(tenant, titleChanged()), body });
      expect(err).toBeInstanceOf(PayloadTooLargeError);
      expect(err.status).toBe(413);
      expect(queued).toHaveLength(0);
    });

    it('the 64 KiB limit counts bytes, not characters, and applies to Base64-encoded bodies once decoded', async () => {
      const tenant = aTenant();
      const { deps, queued } = aWorld({ tenants: [tenant] });
      // 22,000 three-byte characters: under 64 Ki characters, over 64 KiB
      const wide = JSON.stringify({ encrypt: 'abc', pad: '告'.repeat(22_000) });
      expect(wide.length).toBeLessThan(MAX_CALLBACK_BODY_BYTES);
      expect((await rejection(deps, { ...aPush(tenant, titleChanged()), body: wide })).status).toBe(413);
      const big = Buffer.from(JSON.stringify({ encrypt: 'A'.repeat(MAX_CALLBACK_BODY_BYTES) })).toString('base64');
      expect((await rejection(deps, { ...aPush(tenant, titleChanged()), body: big, isBase64Encoded: true })).status).toBe(413);
      expect(queued).toHaveLength(0);
    });

    it('a Base64-encoded body (as API Gateway may deliver it) is accepted', async () => {
      const tenant = aTenant();
      const { deps, queued } = aWorld({ tenants: [tenant] });
      const req = aPush(tenant, titleChanged());
      await handleCallback(deps, { ...req, body: Buffer.from(req.body).toString('base64'), isBase64Encoded: true });
      expect(queued).toHaveLength(1);
    });

    it('a push for an unknown tenant is rejected 404', async () => {
      const stranger = aTenant();
      const { deps, queued } = aWorld({ tenants: [aTenant()] });
      const err = await rejection(deps, aPush(stranger, titleChanged()));
      expect(err).toBeInstanceOf(NotFoundError);
      expect(err.status).toBe(404);
      expect(queued).toHaveLength(0);
    });

    it('a forged signature is rejected 401', async () => {
      const tenant = aTenant();
      const { deps, queued } = aWorld({ tenants: [tenant] });
      const err = await rejection(deps, aPush(tenant, titleChanged(), { token: 'forgedtoken' }));
      expect(err).toBeInstanceOf(AuthError);
      expect(err.status).toBe(401);
      expect(queued).toHaveLength(0);
    });

    it('a push encrypted for another receiver id is rejected 401', async () => {
      const tenant = aTenant();
      const { deps, queued } = aWorld({ tenants: [tenant] });
      const err = await rejection(deps, aPush(tenant, titleChanged(), { receiverId: 'ding-other-corp' }));
      expect(err).toBeInstanceOf(AuthError);
      expect(err.status).toBe(401);
      expect(queued).toHaveLength(0);
    });

    it('a push sealed with another aes key is rejected 401', async () => {
      const tenant = aTenant();
      const { deps, queued } = aWorld({ tenants: [tenant] });
      const err = await rejection(deps, aPush({ ...tenant, aesKey: aTenant().aesKey }, titleChanged()));
      expect(err.status).toBe(401);
      expect(queued).toHaveLength(0);
    });

    it.each([
      ['not JSON', 'hello'],
      ['a JSON array', '[1,2]'],
      ['JSON null', 'null'],
      ['an object without EventType', '{"eventId":"e"}'],
      ['an empty EventType', '{"EventType":""}'],
    ])('a correctly signed payload that is %s is rejected 400', async (_label, plaintext) => {
      const tenant = aTenant();
      const { deps, queued } = aWorld({ tenants: [tenant] });
      const env = sealEnvelope({ token: tenant.token, aesKey: tenant.aesKey, receiverId: tenant.clientId }, plaintext, {
        timeStamp: String(NOW),
        nonce: 'n1',
      });
      const req = {
        tenantId: tenant.tenantId,
        query: { msg_signature: env.msg_signature, timestamp: env.timeStamp, nonce: env.nonce },
        body: JSON.stringify({ encrypt: env.encrypt }),
      };
      const err = await rejection(deps, req);
      expect(err.status).toBe(400);
      expect(queued).toHaveLength(0);
    });

    it('no error message echoes a secret or the payload', async () => {
      const tenant = aTenant();
      const { deps } = aWorld({ tenants: [tenant] });
      const event = titleChanged({ title: '机密群名' });
      const errors = [
        await rejection(deps, aPush(tenant, event, { token: 'forgedtoken' })),
        await rejection(deps, aPush(tenant, event, { receiverId: 'other' })),
        await rejection(deps, aPush(tenant, event, { timestamp: '1' })),
      ];
      for (const e of errors) {
        for (const secret of [tenant.token, tenant.aesKey, tenant.clientSecret, '机密群名', 'other']) expect(e.message).not.toContain(secret);
      }
    });
  });

  describe('event ids', () => {
    it('an event without eventId gets a stable id derived from its content', async () => {
      // given the same event pushed twice (DingTalk retries re-encrypt with a new nonce and random prefix)
      const tenant = aTenant();
      const { deps, queued } = aWorld({ tenants: [tenant] });
      const { eventId: _drop, ...event } = titleChanged();
      // when
      const first = await handleCallback(deps, aPush(tenant, event));
      const second = await handleCallback(deps, aPush(tenant, event));
      // then
      expect(first.eventId).toMatch(/^sha256:[0-9a-f]{32}$/);
      expect(second.eventId).toBe(first.eventId);
      expect(queued.map((q) => q.eventId)).toEqual([first.eventId, first.eventId]);
    });

    it('different events without eventId get different ids', async () => {
      const tenant = aTenant();
      const { deps } = aWorld({ tenants: [tenant] });
      const { eventId: _a, ...one } = titleChanged({ title: 'one' });
      const { eventId: _b, ...two } = titleChanged({ title: 'two' });
      const a = await handleCallback(deps, aPush(tenant, one));
      const b = await handleCallback(deps, aPush(tenant, two));
      expect(a.eventId).not.toBe(b.eventId);
    });

    it('an eventId given by DingTalk is kept as is', async () => {
      const tenant = aTenant();
      const { deps, queued } = aWorld({ tenants: [tenant] });
      await handleCallback(deps, aPush(tenant, titleChanged({ eventId: 'abc-123' })));
      expect(queued[0].eventId).toBe('abc-123');
    });
  });

  it('a failure to enqueue is not swallowed', async () => {
    const tenant = aTenant();
    const { deps } = aWorld({ tenants: [tenant] });
    const failing = { ...deps, enqueue: async () => Promise.reject(new Error('sqs down')) };
    await expect(handleCallback(failing, aPush(tenant, titleChanged()))).rejects.toThrow('sqs down');
  });
});
