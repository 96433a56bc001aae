import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { decrypt, encrypt, isAesKey, openEnvelope, sealEnvelope, signature, verifySignature, type AppSecrets } from '../../../lib/dingtalk/crypto';
import { AuthError, CryptoError } from '../../../lib/errors';

/** The published vectors (DingTalk's FAQ and its official Python callback sample), verified byte-exact with 32-byte padding. */
const VECTOR_A = {
  name: 'A (official FAQ answer sample)',
  token: '123456',
  aesKey: '1234567890123456789012345678901234567890123',
  receiverId: 'dingsnotzck6pm5veliw',
  timestamp: '1614767836',
  nonce: 'A7Co0cJLMzIDtMMI',
  signature: '9a95a004dd16f5c307e849b994173f76aa26e5eb',
  encrypt: 'YvkvaGe4hQxd3VxRmEty0dVlnCOAqwf56xwTRHDHoOURqhalbmBJQk5FNcRk42Gl5T0YQXZNwpwWSm1xAFJ5ZA==',
  plaintext: 'success',
  random: 'dICkEDLj0eb6yAbc',
};

const VECTOR_C = {
  name: 'C (official Python sample)',
  token: 'mryue',
  aesKey: 'Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7',
  receiverId: 'ding6ccabc44d2c8d38b',
  timestamp: '1608001896814',
  nonce: 'WL4PK6yA',
  signature: '03044561471240d4a14bb09372dfcfd4fd0e40cb',
  encrypt: '0vJiX6vliEpwG3U45CtXqi+m8PXbQRARJ8p8BbDuD1EMTDf0jKpQ79QS93qEk7XHpP6u+oTTrd15NRPvNvmBKyDCYxxOK+HZeKju4yhELOFchzNukR+t8SB/qk4ROMu3',
  plaintext: '{"EventType":"check_url"}',
  random: 'l7Y3EcX2CU5w8av3',
};

type Vector = typeof VECTOR_A;

// ---- small factories -------------------------------------------------------------------------

const anAesKey = (): string => randomBytes(32).toString('base64').slice(0, 43);

const anApp = (over: Partial<AppSecrets> = {}): AppSecrets => ({
  token: `tok${randomBytes(6).toString('hex')}`,
  aesKey: anAesKey(),
  receiverId: `dingclient${randomBytes(4).toString('hex')}`,
  ...over,
});

const appOf = (v: Vector): AppSecrets => ({ token: v.token, aesKey: v.aesKey, receiverId: v.receiverId });

const fieldsOf = (v: Vector) => ({ signature: v.signature, timestamp: v.timestamp, nonce: v.nonce, encrypt: v.encrypt });

const keyOf = (aesKey: string) => Buffer.from(`${aesKey}=`, 'base64');

/** AES-256-CBC with DingTalk's key and IV and no automatic padding: the raw block cipher. */
function rawEncrypt(aesKey: string, plain: Buffer): string {
  const key = keyOf(aesKey);
  const c = createCipheriv('aes-256-cbc', key, key.subarray(0, 16)).setAutoPadding(false);
  return Buffer.concat([c.update(plain), c.final()]).toString('base64');
}

function rawDecrypt(aesKey: string, encrypted: string): Buffer {
  const key = keyOf(aesKey);
  const d = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16)).setAutoPadding(false);
  return Buffer.concat([d.update(Buffer.from(encrypted, 'base64')), d.final()]);
}

/** random16 || len32be || message || receiver, unpadded, as DingTalk lays it out. */
function framed(message: string, receiverId: string, random = randomBytes(16)): Buffer {
  const body = Buffer.from(message, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([random, len, body, Buffer.from(receiverId, 'utf8')]);
}

/** Flips one bit of the decoded ciphertext at `index` and re-encodes it. */
function flipped(encrypted: string, index: number): string {
  const bytes = Buffer.from(encrypted, 'base64');
  bytes[index] ^= 0x01;
  return bytes.toString('base64');
}

// ---- tests -----------------------------------------------------------------------------------

describe.each([VECTOR_A, VECTOR_C])('DingTalk published vector $name', (v) => {
  it('decrypts to the published plaintext, receiver id and random prefix', () => {
    // when
    const out = decrypt(v.aesKey, v.encrypt);
    // then
    expect(out.message).toBe(v.plaintext);
    expect(out.receiverId).toBe(v.receiverId);
    expect(out.random.toString('utf8')).toBe(v.random);
  });

  it('re-encrypts byte-exact when given the same random prefix', () => {
    expect(encrypt(v.aesKey, v.plaintext, v.receiverId, Buffer.from(v.random, 'utf8'))).toBe(v.encrypt);
  });

  it('computes the published signature', () => {
    expect(signature(v.token, v.timestamp, v.nonce, v.encrypt)).toBe(v.signature);
  });

  it('opens as a whole envelope (signature, decryption, receiver id)', () => {
    expect(openEnvelope(appOf(v), fieldsOf(v))).toBe(v.plaintext);
  });

  it('is reproduced exactly by sealEnvelope with the same timestamp, nonce and random prefix', () => {
    const sealed = sealEnvelope(appOf(v), v.plaintext, { timeStamp: v.timestamp, nonce: v.nonce, random: Buffer.from(v.random, 'utf8') });
    expect(sealed).toEqual({ msg_signature: v.signature, timeStamp: v.timestamp, nonce: v.nonce, encrypt: v.encrypt });
  });

  it('uses a 32-byte padding block (ciphertext is a whole number of 32-byte blocks, pad value matches)', () => {
    const plain = rawDecrypt(v.aesKey, v.encrypt);
    const unpaddedLength = framed(v.plaintext, v.receiverId).length;
    const pad = 32 - (unpaddedLength % 32);
    expect(plain.length % 32).toBe(0);
    expect(plain.length).toBe(unpaddedLength + pad);
    expect([...plain.subarray(plain.length - pad)].every((b) => b === pad)).toBe(true);
  });
});

describe('multi-byte UTF-8 round trips exactly', () => {
  const texts = {
    'a Chinese group title': '故障作战室 · 支付服务 P1 告警',
    'an emoji title': 'on-call 🔥🚨 war room 👩‍💻',
    'mixed scripts in JSON': JSON.stringify({ EventType: 'chat_update_title', title: '新群名称：运维值班🔔', operator: '张三' }),
  };

  it.each(Object.entries(texts))('%s survives encrypt then decrypt', (_label, text) => {
    // given
    const app = anApp();
    // when
    const out = decrypt(app.aesKey, encrypt(app.aesKey, text, app.receiverId));
    // then
    expect(out.message).toBe(text);
    expect(Buffer.from(out.message, 'utf8').equals(Buffer.from(text, 'utf8'))).toBe(true);
    expect(out.receiverId).toBe(app.receiverId);
  });

  it('writes the length field as the UTF-8 byte length, not the character count', () => {
    // given
    const app = anApp();
    const title = '值班群🔥';
    // when
    const plain = rawDecrypt(app.aesKey, encrypt(app.aesKey, title, app.receiverId));
    // then
    expect(plain.readUInt32BE(16)).toBe(Buffer.byteLength(title, 'utf8'));
    expect(plain.readUInt32BE(16)).not.toBe(title.length);
  });

  it('a sealed Chinese message opens to the same text', () => {
    const app = anApp();
    const text = JSON.stringify({ EventType: 'chat_update_title', title: '数据库告警群' });
    const env = sealEnvelope(app, text, { timeStamp: '1700000000000', nonce: 'n0nce' });
    expect(openEnvelope(app, { signature: env.msg_signature, timestamp: env.timeStamp, nonce: env.nonce, encrypt: env.encrypt })).toBe(text);
  });
});

describe('32-byte padding takes every value from 1 to 32', () => {
  const app = anApp({ receiverId: 'dingreceiver0001' });
  const overhead = framed('', app.receiverId).length;
  const cases = Array.from({ length: 32 }, (_, i) => i).map((len) => {
    const pad = 32 - ((overhead + len) % 32);
    return { len, pad };
  });

  it('the chosen message lengths cover pad values 1..32', () => {
    expect(new Set(cases.map((c) => c.pad))).toEqual(new Set(Array.from({ length: 32 }, (_, i) => i + 1)));
  });

  it.each(cases)('a $len-byte message is padded with $pad bytes and round-trips', ({ len, pad }) => {
    // given
    const message = 'x'.repeat(len);
    // when
    const enc = encrypt(app.aesKey, message, app.receiverId);
    // then
    const cipherBytes = Buffer.from(enc, 'base64');
    expect(cipherBytes.length % 32).toBe(0);
    const plain = rawDecrypt(app.aesKey, enc);
    expect(plain.length).toBe(overhead + len + pad);
    expect([...plain.subarray(plain.length - pad)].every((b) => b === pad)).toBe(true);
    expect(decrypt(app.aesKey, enc)).toMatchObject({ message, receiverId: app.receiverId });
  });
});

describe('rejections', () => {
  const v = VECTOR_C;

  it('a flipped byte anywhere in the ciphertext never opens to the original event', () => {
    // given an attacker who could even re-sign the tampered ciphertext
    const app = appOf(v);
    const length = Buffer.from(v.encrypt, 'base64').length;
    for (let i = 0; i < length; i++) {
      const tampered = flipped(v.encrypt, i);
      const resigned = { ...fieldsOf(v), encrypt: tampered, signature: signature(v.token, v.timestamp, v.nonce, tampered) };
      // when
      let opened: string | undefined;
      try {
        opened = openEnvelope(app, resigned);
      } catch (e) {
        // then it is a crypto rejection...
        expect(e).toBeInstanceOf(CryptoError);
        continue;
      }
      // ...or at least not the original plaintext
      expect(opened).not.toBe(v.plaintext);
    }
  });

  it('a flipped byte with the original signature fails the signature check', () => {
    expect(() => openEnvelope(appOf(v), { ...fieldsOf(v), encrypt: flipped(v.encrypt, 40) })).toThrow(/signature mismatch/);
  });

  it('decrypting with the wrong key throws CryptoError', () => {
    expect(() => decrypt('Zue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7', v.encrypt)).toThrow(CryptoError);
    expect(() => decrypt(VECTOR_A.aesKey, v.encrypt)).toThrow(CryptoError);
  });

  it('an envelope for another receiver id is rejected even though it decrypts', () => {
    // given a push sealed for another app with the same secrets
    const app = anApp();
    const env = sealEnvelope({ ...app, receiverId: 'ding-someone-else' }, '{"EventType":"check_url"}', { timeStamp: '1', nonce: 'n' });
    const fields = { signature: env.msg_signature, timestamp: env.timeStamp, nonce: env.nonce, encrypt: env.encrypt };
    // then
    expect(decrypt(app.aesKey, env.encrypt).receiverId).toBe('ding-someone-else');
    expect(() => openEnvelope(app, fields)).toThrow(CryptoError);
    expect(() => openEnvelope(app, fields)).toThrow(/receiver id mismatch/);
  });

  it.each([
    ['0', 0],
    ['33', 33],
    ['255', 255],
  ])('a last pad byte of %s is bad padding', (_label, padByte) => {
    // given a well-framed plaintext whose final byte is out of 1..32
    const aesKey = anAesKey();
    const body = framed('hello', 'dingreceiver');
    const plain = Buffer.concat([body, Buffer.alloc(64 - body.length, padByte)]);
    const enc = rawEncrypt(aesKey, plain);
    // then
    expect(() => decrypt(aesKey, enc)).toThrow(CryptoError);
    expect(() => decrypt(aesKey, enc)).toThrow(/bad padding/);
  });

  it('pad bytes that disagree with the last pad byte are bad padding', () => {
    const aesKey = anAesKey();
    const body = framed('hello', 'dingreceiver');
    const padLen = 64 - body.length;
    const pad = Buffer.alloc(padLen, padLen);
    pad[0] = padLen - 1;
    expect(() => decrypt(aesKey, rawEncrypt(aesKey, Buffer.concat([body, pad])))).toThrow(/bad padding/);
  });

  it('a ciphertext that is not a whole number of 32-byte blocks is rejected (16-byte AES padding is not DingTalk padding)', () => {
    const aesKey = anAesKey();
    const key = keyOf(aesKey);
    const c = createCipheriv('aes-256-cbc', key, key.subarray(0, 16)); // Node default PKCS#7 to 16 bytes
    const enc = Buffer.concat([c.update(framed('hello world!', 'r')), c.final()]).toString('base64');
    expect(Buffer.from(enc, 'base64').length % 32).not.toBe(0);
    expect(() => decrypt(aesKey, enc)).toThrow(CryptoError);
  });

  it('an empty ciphertext is rejected', () => {
    expect(() => decrypt(VECTOR_A.aesKey, '')).toThrow(CryptoError);
  });

  it('an aes key that is not 43 Base64 characters is refused', () => {
    expect(isAesKey(VECTOR_A.aesKey)).toBe(true);
    expect(isAesKey(VECTOR_A.aesKey.slice(1))).toBe(false);
    expect(() => decrypt(`${VECTOR_A.aesKey}=`, VECTOR_A.encrypt)).toThrow(CryptoError);
    expect(() => encrypt('short', 'x', 'r')).toThrow(CryptoError);
  });

  it('a signature that does not match is rejected with an AuthError', () => {
    const forged = { ...fieldsOf(v), signature: '0'.repeat(40) };
    expect(() => openEnvelope(appOf(v), forged)).toThrow(CryptoError);
    expect(() => openEnvelope(appOf(v), forged)).toThrow(AuthError);
    expect(() => openEnvelope(appOf(v), { ...fieldsOf(v), nonce: 'other' })).toThrow(/signature mismatch/);
    expect(() => openEnvelope({ ...appOf(v), token: 'wrongtoken' }, fieldsOf(v))).toThrow(/signature mismatch/);
  });
});

describe('verifySignature', () => {
  it('accepts the expected signature written in upper-case hex', () => {
    expect(verifySignature(VECTOR_A.signature, VECTOR_A.signature.toUpperCase())).toBe(true);
    expect(openEnvelope(appOf(VECTOR_A), { ...fieldsOf(VECTOR_A), signature: VECTOR_A.signature.toUpperCase() })).toBe('success');
  });

  it('rejects a different signature of the same length', () => {
    expect(verifySignature(VECTOR_A.signature, VECTOR_C.signature)).toBe(false);
  });

  it('rejects a signature of another length without throwing', () => {
    expect(verifySignature(VECTOR_A.signature, VECTOR_A.signature.slice(0, 39))).toBe(false);
    expect(verifySignature(VECTOR_A.signature, '')).toBe(false);
    expect(verifySignature(VECTOR_A.signature, `${VECTOR_A.signature}0`)).toBe(false);
  });
});

describe('sealEnvelope (our answer to DingTalk)', () => {
  it('wraps "success" so DingTalk can verify and decrypt it', () => {
    // given
    const app = anApp();
    // when
    const env = sealEnvelope(app, 'success', { timeStamp: '1700000000123', nonce: 'abc123' });
    // then
    expect(Object.keys(env).sort()).toEqual(['encrypt', 'msg_signature', 'nonce', 'timeStamp']);
    expect(env).not.toHaveProperty('timestamp');
    expect(Object.values(env).every((x) => typeof x === 'string')).toBe(true);
    expect(env.timeStamp).toBe('1700000000123');
    expect(env.nonce).toBe('abc123');
    expect(env.msg_signature).toBe(signature(app.token, env.timeStamp, env.nonce, env.encrypt));
    expect(env.msg_signature).toMatch(/^[0-9a-f]{40}$/);
    expect(decrypt(app.aesKey, env.encrypt)).toMatchObject({ message: 'success', receiverId: app.receiverId });
  });

  it('uses a fresh random prefix each time', () => {
    const app = anApp();
    const a = sealEnvelope(app, 'success', { timeStamp: '1', nonce: 'n' });
    const b = sealEnvelope(app, 'success', { timeStamp: '1', nonce: 'n' });
    expect(a.encrypt).not.toBe(b.encrypt);
  });
});
