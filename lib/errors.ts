/** Base class: every error we raise on purpose carries an HTTP-ish status and a safe public message. */
export class BridgeError extends Error {
  constructor(message: string, readonly status: number, readonly code: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Input that can never succeed: bad JSON, missing fields, unknown version. Not retryable. */
export class ValidationError extends BridgeError {
  constructor(message: string, readonly issues: string[] = []) {
    super(message, 400, 'invalid_request');
  }
}

export class NotFoundError extends BridgeError {
  constructor(message: string) {
    super(message, 404, 'not_found');
  }
}

/** Signature, timestamp or receiver id did not check out. */
export class AuthError extends BridgeError {
  constructor(message: string) {
    super(message, 401, 'unauthorized');
  }
}

export class PayloadTooLargeError extends BridgeError {
  constructor(limit: number) {
    super(`body larger than ${limit} bytes`, 413, 'payload_too_large');
  }
}

/** Decryption failed: wrong key, tampered ciphertext, bad padding. */
export class CryptoError extends AuthError {}
