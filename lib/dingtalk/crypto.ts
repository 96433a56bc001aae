import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { CryptoError } from '../errors';

/** DingTalk pads to 32-byte blocks (PKCS#7 style, pad values 1..32), not AES's 16. */
const BLOCK = 32;
const AES_KEY_PATTERN = /^[A-Za-z0-9+/]{43}$/;

/** True when `aesKey` has the console's shape: 43 characters of the Base64 alphabet. */
export const isAesKey = (aesKey: string): boolean => AES_KEY_PATTERN.test(aesKey);

function keyOf(aesKey: string): Buffer {
  if (!isAesKey(aesKey)) throw new CryptoError('aes_key must be 43 Base64 characters');
  return Buffer.from(`${aesKey}=`, 'base64');
}

/**
 * DingTalk's callback signature: SHA-1 hex of the four strings sorted and joined.
 *
 * @example
 * signature('123456', '1614767836', 'A7Co0cJLMzIDtMMI', encrypt) // '9a95a0...'
 */
export function signature(token: string, timestamp: string, nonce: string, encrypt: string): string {
  return createHash('sha1').update([token, timestamp, nonce, encrypt].sort().join('')).digest('hex');
}

/** Constant-time comparison of a received signature with the expected one. */
export function verifySignature(expected: string, received: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(received.toLowerCase(), 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Encrypts `message` for `receiverId` the way DingTalk does:
 * AES-256-CBC(random16 || len32be || message || receiverId, 32-byte padding), Base64.
 *
 * @example
 * encrypt(aesKey, 'success', clientId)
 */
export function encrypt(aesKey: string, message: string, receiverId: string, random: Buffer = randomBytes(16)): string {
  const key = keyOf(aesKey);
  const body = Buffer.from(message, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length, 0);
  const plain = Buffer.concat([random, length, body, Buffer.from(receiverId, 'utf8')]);
  const pad = BLOCK - (plain.length % BLOCK);
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16)).setAutoPadding(false);
  return Buffer.concat([cipher.update(Buffer.concat([plain, Buffer.alloc(pad, pad)])), cipher.final()]).toString('base64');
}

export interface Decrypted {
  message: string;
  receiverId: string;
  random: Buffer;
}

/**
 * Decrypts a DingTalk `encrypt` field. Throws {@link CryptoError} on a wrong key, tampered
 * ciphertext or bad padding; checking the receiver id is the caller's job (see {@link openEnvelope}).
 */
export function decrypt(aesKey: string, encrypted: string): Decrypted {
  const key = keyOf(aesKey);
  const data = Buffer.from(encrypted, 'base64');
  if (data.length === 0 || data.length % BLOCK !== 0) throw new CryptoError('ciphertext length is not a multiple of 32');
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16)).setAutoPadding(false);
    plain = Buffer.concat([decipher.update(data), decipher.final()]);
  } catch {
    throw new CryptoError('decryption failed');
  }
  const pad = plain[plain.length - 1];
  if (pad < 1 || pad > BLOCK || pad > plain.length || !plain.subarray(plain.length - pad).every((b) => b === pad)) {
    throw new CryptoError('bad padding');
  }
  const unpadded = plain.subarray(0, plain.length - pad);
  if (unpadded.length < 20) throw new CryptoError('plaintext too short');
  const length = unpadded.readUInt32BE(16);
  if (20 + length > unpadded.length) throw new CryptoError('message length out of range');
  const messageBytes = unpadded.subarray(20, 20 + length);
  const message = new TextDecoder('utf-8', { fatal: true });
  try {
    return {
      random: Buffer.from(unpadded.subarray(0, 16)),
      message: message.decode(messageBytes),
      receiverId: message.decode(unpadded.subarray(20 + length)),
    };
  } catch {
    throw new CryptoError('plaintext is not UTF-8');
  }
}

export interface Envelope {
  msg_signature: string;
  timeStamp: string;
  nonce: string;
  encrypt: string;
}

export interface AppSecrets {
  token: string;
  aesKey: string;
  /** Client ID (AppKey) of the app: the receiver id DingTalk puts in every payload. */
  receiverId: string;
}

/**
 * Builds the signed, encrypted JSON DingTalk expects in answer (or sends as a push).
 *
 * @example
 * sealEnvelope(app, 'success', { timeStamp: String(Date.now()), nonce: 'abc123' })
 */
export function sealEnvelope(
  app: AppSecrets,
  message: string,
  opts: { timeStamp: string; nonce: string; random?: Buffer },
): Envelope {
  const enc = encrypt(app.aesKey, message, app.receiverId, opts.random);
  return { msg_signature: signature(app.token, opts.timeStamp, opts.nonce, enc), timeStamp: opts.timeStamp, nonce: opts.nonce, encrypt: enc };
}

/**
 * Verifies the signature over the received fields, decrypts, and checks the receiver id.
 * Throws {@link CryptoError} / AuthError-derived errors; returns the plaintext message.
 */
export function openEnvelope(
  app: AppSecrets,
  fields: { signature: string; timestamp: string; nonce: string; encrypt: string },
): string {
  if (!verifySignature(signature(app.token, fields.timestamp, fields.nonce, fields.encrypt), fields.signature)) {
    throw new CryptoError('signature mismatch');
  }
  const { message, receiverId } = decrypt(app.aesKey, fields.encrypt);
  if (receiverId !== app.receiverId) throw new CryptoError('receiver id mismatch');
  return message;
}
