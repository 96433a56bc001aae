import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * One table holds everything (single-table design). Keys are strings `pk`/`sk`; items that expire
 * carry `expiresAt` (epoch seconds), the table's TTL attribute.
 *
 * | item            | pk                      | sk                     |
 * |-----------------|-------------------------|------------------------|
 * | tenant          | TENANT#<tenantId>       | TENANT                 |
 * | group link      | TENANT#<tenantId>       | GROUP#<openConvId>     |
 * | access token    | APP#<clientId>          | TOKEN                  |
 * | event dedupe    | EVENT#<tenantId>#<id>   | EVENT                  |
 */
export const KEY = { pk: 'pk', sk: 'sk', ttl: 'expiresAt' } as const;

export interface Table {
  doc: DynamoDBDocumentClient;
  name: string;
}

/** A document client with the SDK's own endpoint resolution (AWS_ENDPOINT_URL_DYNAMODB locally). */
export function createTable(name: string, client: DynamoDBClient = new DynamoDBClient({})): Table {
  return {
    name,
    doc: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
  };
}

/** Epoch seconds `seconds` from `nowMs`, for the TTL attribute. */
export const ttlAfter = (nowMs: number, seconds: number): number => Math.floor(nowMs / 1000) + seconds;

export const isConditionalFailure = (err: unknown): boolean =>
  (err as { name?: string })?.name === 'ConditionalCheckFailedException';
