import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IdempotencyKeyError } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { EVENT_DEDUPE_SK, eventDedupeKey, KEY } from '../contracts/tableKeys';

/**
 * Event dedupe records (pk `EVENT#<tenantId>#<eventId>`, sk `EVENT`) kept by Powertools'
 * idempotency utility in our single table.
 *
 * The stock DynamoDB layer, given a sort key, would put every record under one static partition
 * and key it by an opaque hash; this subclass keys records by tenant and DingTalk eventId instead,
 * as the table layout documents, so they spread over partitions and can be read by an operator.
 * Everything else (INPROGRESS / COMPLETED states, the conditional put, TTL in `expiresAt`, deleting
 * the record when processing fails so a retry runs again) is Powertools' own.
 */

export class EventDedupeStore extends DynamoDBPersistenceLayer {
  /**
   * @example
   * const store = new EventDedupeStore({ tableName: config.TABLE_NAME, client: dynamo });
   */
  constructor(opts: { tableName: string; client: DynamoDBClient }) {
    super({ tableName: opts.tableName, awsSdkV3Client: opts.client, keyAttr: KEY.pk, sortKeyAttr: KEY.sk, expiryAttr: KEY.ttl });
  }

  /** The record's partition key for an event: `{ tenantId, eventId }` -> `EVENT#<tenantId>#<eventId>`. */
  protected override getHashedIdempotencyKey(data: unknown): string {
    const { tenantId, eventId } = (data ?? {}) as { tenantId?: unknown; eventId?: unknown };
    if (typeof tenantId !== 'string' || !tenantId || typeof eventId !== 'string' || !eventId) {
      throw new IdempotencyKeyError('an event needs tenantId and eventId to be deduplicated');
    }
    return eventDedupeKey(tenantId, eventId).pk;
  }

  protected override getKey(idempotencyKey: string): Record<string, AttributeValue> {
    return { [KEY.pk]: { S: idempotencyKey }, [KEY.sk]: { S: EVENT_DEDUPE_SK } };
  }
}
