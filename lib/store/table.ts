import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { traced } from '../tracer';

// The table map and every key builder: lib/contracts/tableKeys.ts.

export interface Table {
  doc: DynamoDBDocumentClient;
  name: string;
}

/** A document client with the SDK's own endpoint resolution (AWS_ENDPOINT_URL_DYNAMODB locally). */
/**
 * Attempts per DynamoDB request (the SDK's default is 3): a delivery record that cannot be written
 * after DingTalk answered would leave its claim to be taken over and the recipient paged twice, so
 * throttling is waited out longer (the SDK backs off exponentially between attempts).
 */
export const DYNAMODB_MAX_ATTEMPTS = 8;

/** A DynamoDB client as every function makes it: the SDK's own endpoint resolution, patient retries, traced (X-Ray). */
export const dynamoDbClient = (): DynamoDBClient => traced(new DynamoDBClient({ maxAttempts: DYNAMODB_MAX_ATTEMPTS }));

export function createTable(name: string, client: DynamoDBClient = dynamoDbClient()): Table {
  return {
    name,
    doc: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
  };
}

/** Epoch seconds `seconds` from `nowMs`, for the TTL attribute. */
export const ttlAfter = (nowMs: number, seconds: number): number => Math.floor(nowMs / 1000) + seconds;

export const isConditionalFailure = (err: unknown): boolean =>
  (err as { name?: string })?.name === 'ConditionalCheckFailedException';

/** An item in DynamoDB's wire format, as attached to a ConditionalCheckFailedException. */
export type RawItem = Record<string, { N?: string; S?: string; BOOL?: boolean } | undefined>;

/**
 * The item DynamoDB attached to a failed conditional write (ReturnValuesOnConditionCheckFailure
 * ALL_OLD); the document client does not unmarshall it.
 *
 * @example
 * catch (err) { const tat = rawNumber(itemOfFailure(err), 'tat'); }
 */
export const itemOfFailure = (err: unknown): RawItem | undefined => (err as { Item?: RawItem }).Item;

/**
 * A number attribute of a raw item, or undefined.
 *
 * @example
 * rawNumber({ used: { N: '42' } }, 'used') // 42
 */
export const rawNumber = (item: RawItem | undefined, name: string): number | undefined => {
  const n = item?.[name]?.N;
  return n === undefined ? undefined : Number(n);
};

/**
 * Awaits a conditional write: true when it was applied, false when its ConditionExpression refused
 * it; any other error is rethrown.
 *
 * @example
 * const claimed = await tryConditional(
 *   table.doc.send(new PutCommand({ TableName: table.name, Item: item, ConditionExpression: 'attribute_not_exists(pk)' })),
 * );
 * if (!claimed) return; // someone else wrote it first
 */
export async function tryConditional(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (err) {
    if (isConditionalFailure(err)) return false;
    throw err;
  }
}

/**
 * Like {@link tryConditional}, but a refusal carries the item DynamoDB attached to it (the write must
 * ask for it with `ReturnValuesOnConditionCheckFailure: 'ALL_OLD'`; absent when there was no item),
 * in wire format: read it with {@link rawNumber}.
 *
 * @example
 * const r = await tryConditionalOld(
 *   table.doc.send(new UpdateCommand({ ..., ConditionExpression: 'tat = :prev', ReturnValuesOnConditionCheckFailure: 'ALL_OLD' })),
 * );
 * if (!r.applied) tat = rawNumber(r.old, 'tat');
 */
export async function tryConditionalOld(write: Promise<unknown>): Promise<{ applied: true } | { applied: false; old?: RawItem }> {
  try {
    await write;
    return { applied: true };
  } catch (err) {
    if (isConditionalFailure(err)) return { applied: false, old: itemOfFailure(err) };
    throw err;
  }
}

/** One request of a BatchWriteItem: a put or a delete. */
export type WriteRequest = NonNullable<ConstructorParameters<typeof BatchWriteCommand>[0]['RequestItems']>[string][number];

const backOff = (attempt: number) => new Promise((r) => setTimeout(r, 25 * 2 ** attempt));

/**
 * BatchWriteItem, 25 requests per call, with what DynamoDB left unprocessed written again (backing
 * off); throws when some are still unprocessed after 8 tries. No two requests may share a key.
 *
 * @example
 * await batchWriteAll(table, items.map((Item) => ({ PutRequest: { Item } })));
 */
export async function batchWriteAll(table: Table, requests: readonly WriteRequest[]): Promise<void> {
  for (let i = 0; i < requests.length; i += 25) {
    let pending = requests.slice(i, i + 25);
    for (let attempt = 0; pending.length; attempt++) {
      if (attempt === 8) throw new Error(`${pending.length} writes left unprocessed by DynamoDB`);
      if (attempt) await backOff(attempt);
      const r = await table.doc.send(new BatchWriteCommand({ RequestItems: { [table.name]: pending } }));
      pending = (r.UnprocessedItems?.[table.name] ?? []) as WriteRequest[];
    }
  }
}

/**
 * BatchGetItem (consistent reads), 100 keys per call, unprocessed keys read again: the items found.
 *
 * @example
 * const items = await batchGetAll(table, [{ pk: 'a', sk: 'b' }]);
 */
export async function batchGetAll(table: Table, keys: ReadonlyArray<{ pk: string; sk: string }>): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  for (let i = 0; i < keys.length; i += 100) {
    let pending: Array<Record<string, unknown>> = keys.slice(i, i + 100).map((k) => ({ pk: k.pk, sk: k.sk }));
    for (let attempt = 0; pending.length; attempt++) {
      if (attempt === 8) throw new Error(`${pending.length} reads left unprocessed by DynamoDB`);
      if (attempt) await backOff(attempt);
      const r = await table.doc.send(new BatchGetCommand({ RequestItems: { [table.name]: { Keys: pending, ConsistentRead: true } } }));
      out.push(...(r.Responses?.[table.name] ?? []));
      pending = (r.UnprocessedKeys?.[table.name]?.Keys ?? []) as Array<Record<string, unknown>>;
    }
  }
  return out;
}
