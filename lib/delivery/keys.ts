/**
 * Table keys of the delivery items (single-table design, see lib/store/table.ts).
 *
 * | item              | pk                        | sk                     |
 * |-------------------|---------------------------|------------------------|
 * | rate limiter tat  | RATE#<clientId>#<api>     | RATE                   |
 * | monthly counter   | ORG#<corpId>              | QUOTA#<YYYY-MM>        |
 * | parked message    | PARK#<corpId>             | <YYYY-MM>#<messageId>  |
 */

export const rateKey = (clientId: string, api: string) => ({ pk: `RATE#${clientId}#${api}`, sk: 'RATE' });

export const quotaKey = (corpId: string, month: string) => ({ pk: `ORG#${corpId}`, sk: `QUOTA#${month}` });

export const parkPk = (corpId: string) => `PARK#${corpId}`;

export const parkSk = (month: string, messageId: string) => `${month}#${messageId}`;

/** A raw (unmarshalled by nobody) attribute map, as DynamoDB returns it on a failed condition. */
export type RawItem = Record<string, { N?: string; S?: string; BOOL?: boolean } | undefined>;

/** The item DynamoDB attached to a ConditionalCheckFailedException (ReturnValuesOnConditionCheckFailure). */
export const itemOfFailure = (err: unknown): RawItem | undefined => (err as { Item?: RawItem }).Item;

/** A number attribute of a raw item, or undefined. */
export const rawNumber = (item: RawItem | undefined, name: string): number | undefined => {
  const n = item?.[name]?.N;
  return n === undefined ? undefined : Number(n);
};
