import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import type { MiddlewareObj } from '@middy/core';
import { BridgeError, PayloadTooLargeError, ValidationError } from '../errors';
import { logger } from '../log';

export type HttpResult = { statusCode: number; headers: Record<string, string>; body: string };

export const json = (statusCode: number, body: unknown): HttpResult => ({
  statusCode,
  headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  body: JSON.stringify(body),
});

/**
 * middy middleware: a {@link BridgeError} becomes its status with a JSON error body (its public
 * message only); anything else is logged and answered 500 without details.
 */
export const httpErrors = (): MiddlewareObj<unknown, APIGatewayProxyResultV2> => ({
  onError: async (request) => {
    const err = request.error;
    if (err instanceof BridgeError) {
      logger.warn('request rejected', { status: err.status, code: err.code, reason: err.message });
      request.response = json(err.status, { error: err.code, message: err.message });
    } else {
      logger.error('request failed', err as Error);
      request.response = json(500, { error: 'internal_error', message: 'internal error' });
    }
  },
});

/**
 * An HTTP body as JSON: decoded (API Gateway may base64 it), at most `maxBytes`, parsed. Throws
 * {@link ValidationError} (400: empty, or not JSON) or {@link PayloadTooLargeError} (413); the
 * caller checks the shape.
 *
 * @example
 * const parsed = readJsonBody(event.body, event.isBase64Encoded, MAX_CALLBACK_BODY_BYTES);
 */
export function readJsonBody(body: string | undefined, isBase64Encoded: boolean | undefined, maxBytes: number, what = 'body'): unknown {
  if (!body) throw new ValidationError(`empty ${what}`);
  const raw = isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
  if (raw.length > maxBytes) throw new PayloadTooLargeError(maxBytes);
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new ValidationError(`${what} is not JSON`);
  }
}
