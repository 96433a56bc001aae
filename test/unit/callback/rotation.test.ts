import { handleCallback, type CallbackDeps } from '../../../lib/callback/handleCallback';
import { DEFAULT_GRACE_MS, rotateSecrets } from '../../../lib/callback/rotation';
import type { Tenant } from '../../../lib/contracts/tenant';
import { decrypt, signature } from '../../../lib/dingtalk/crypto';
import { AuthError } from '../../../lib/errors';
import { aTenant, signedPush } from '../../support/factories';

const T0 = Date.UTC(2026, 10, 30, 8, 0, 0);
const HOUR = 3600 * 1000;

/** The callback's core with `tenant` stored and a clock the test sets; pushes are stamped with that clock. */
function aCallback(tenant: Tenant) {
  const clock = { now: T0 };
  const deps: CallbackDeps = { getTenant: async () => tenant, enqueue: async () => undefined, now: () => clock.now, windowSeconds: 3600 };
  const push = (signer: Pick<Tenant, 'token' | 'aesKey'>) => {
    const p = signedPush({ ...tenant, ...signer }, { EventType: 'check_url' }, { timestamp: String(clock.now) });
    return handleCallback(deps, { tenantId: tenant.tenantId, query: p.query, body: p.body });
  };
  return { clock, push };
}

const freshSecrets = () => {
  const { aesKey, token } = aTenant();
  return { aesKey, token };
};

describe('rotating the callback secrets', () => {
  it('a replaced aesKey and token stay accepted until the window ends, then are refused', async () => {
    // given
    const old = aTenant();
    const fresh = freshSecrets();
    const stored = rotateSecrets(old, { ...old, ...fresh }, T0, DEFAULT_GRACE_MS);
    const { clock, push } = aCallback(stored);
    // then: accepted up to the last millisecond of the window
    clock.now = T0 + DEFAULT_GRACE_MS - 1;
    await expect(push(old)).resolves.toMatchObject({ previousSecret: true });
    await expect(push(fresh)).resolves.toMatchObject({ previousSecret: false });
    // and refused from its end
    clock.now = T0 + DEFAULT_GRACE_MS;
    await expect(push(old)).rejects.toThrow(AuthError);
    await expect(push(fresh)).resolves.toMatchObject({ previousSecret: false });
  });

  it('the answer is sealed with the token and aesKey that opened the push, mixed pairs included', async () => {
    const old = aTenant();
    const fresh = freshSecrets();
    const { push } = aCallback(rotateSecrets(old, { ...old, ...fresh }, T0, HOUR));
    for (const signer of [old, fresh, { token: old.token, aesKey: fresh.aesKey }, { token: fresh.token, aesKey: old.aesKey }]) {
      const env = (await push(signer)).envelope;
      expect(env.msg_signature).toBe(signature(signer.token, env.timeStamp, env.nonce, env.encrypt));
      expect(decrypt(signer.aesKey, env.encrypt)).toMatchObject({ message: 'success', receiverId: old.clientId });
    }
  });

  it('a push with neither the current nor the previous secrets is refused as before', async () => {
    const old = aTenant();
    const { push } = aCallback(rotateSecrets(old, { ...old, ...freshSecrets() }, T0, HOUR));
    const stranger = freshSecrets();
    await expect(push(stranger)).rejects.toThrow(/signature mismatch/);
    await expect(push({ token: old.token, aesKey: stranger.aesKey })).rejects.toThrow(AuthError);
  });

  it('only the secret that changed gets a window; a second rotation replaces the first; an expired one is dropped', () => {
    const t = aTenant();
    const k2 = freshSecrets().aesKey;
    const once = rotateSecrets(t, { ...t, aesKey: k2 }, T0, HOUR);
    expect(once.previousAesKey).toEqual({ value: t.aesKey, until: new Date(T0 + HOUR).toISOString() });
    expect(once.previousToken).toBeUndefined();
    // an unrelated change keeps the live window
    expect(rotateSecrets(once, { ...once, qps: 5 }, T0 + 1, HOUR).previousAesKey).toEqual(once.previousAesKey);
    // a second rotation: the key just replaced is the previous one now
    const k3 = freshSecrets().aesKey;
    expect(rotateSecrets(once, { ...once, aesKey: k3 }, T0 + 2, HOUR).previousAesKey).toEqual({ value: k2, until: new Date(T0 + 2 + HOUR).toISOString() });
    // once the window is over, the next save forgets the old value
    expect(rotateSecrets(once, { ...once, qps: 5 }, T0 + HOUR, HOUR).previousAesKey).toBeUndefined();
    // a grace of 0 keeps nothing
    expect(rotateSecrets(t, { ...t, aesKey: k2 }, T0, 0).previousAesKey).toBeUndefined();
  });
});
