import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * One table holds everything (single-table design). Keys are strings `pk`/`sk`; items that expire
 * carry `expiresAt` (epoch seconds), the table's TTL attribute.
 *
 * | item                       | pk                         | sk                       | TTL |
 * |----------------------------|----------------------------|--------------------------|-----|
 * | tenant                     | TENANT#<tenantId>          | TENANT                   |     |
 * | group link                 | TENANT#<tenantId>          | GROUP#<openConvId>       |     |
 * | war room                   | TENANT#<tenantId>          | WARROOM#<incidentId>     |     |
 * | access token / its lease   | APP#<clientId>             | TOKEN / TOKEN_LEASE      | yes |
 * | event dedupe               | EVENT#<tenantId>#<eventId> | EVENT                    | 7 d |
 * | inbound events per month   | ORG#<corpId>               | EVENTS#<YYYY-MM>         |     |
 * | monthly call counter       | ORG#<corpId>               | QUOTA#<YYYY-MM>          | yes |
 * | rate limiter (GCRA)        | RATE#<clientId>#<api>      | RATE                     | 1 d |
 * | parked message             | PARK#<corpId>              | <YYYY-MM>#<messageId>    |     |
 * | mobile -> userId cache     | CORP#<corpId>              | MOBILE#<mobile>          | yes |
 * | notify delivery record     | NOTIFY#<tenantId>#<id>     | MESSAGE / TO#<ch>#<to>   | 30 d|
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
