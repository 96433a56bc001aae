import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import type { MiddlewareObj } from '@middy/core';
import { BridgeError } from '../errors';
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
