/**
 * Table keys of the delivery items (single-table design, see lib/store/table.ts).
 *
 * | item              | pk                        | sk                     |
 * |-------------------|---------------------------|------------------------|
 * | rate limiter tat  | RATE#<clientId>#<api>     | RATE                   |
 * | monthly counter   | ORG#<corpId>              | QUOTA#<YYYY-MM>        |
 * | parked message    | PARK#<corpId>             | <YYYY-MM>#<messageId>  |
 */

/**
 * Key of the shared GCRA state of one app's API.
 *
 * @example
 * rateKey('dingabc', 'robot.batchSend') // { pk: 'RATE#dingabc#robot.batchSend', sk: 'RATE' }
 */
export const rateKey = (clientId: string, api: string) => ({ pk: `RATE#${clientId}#${api}`, sk: 'RATE' });

/**
 * Key of an organisation's counter for a China-time month.
 *
 * @example
 * quotaKey('dingcorp', '2026-03') // { pk: 'ORG#dingcorp', sk: 'QUOTA#2026-03' }
 */
export const quotaKey = (corpId: string, month: string) => ({ pk: `ORG#${corpId}`, sk: `QUOTA#${month}` });

/**
 * Partition of an organisation's parked messages.
 *
 * @example
 * parkPk('dingcorp') // 'PARK#dingcorp'
 */
export const parkPk = (corpId: string) => `PARK#${corpId}`;

/**
 * Sort key of a parked message: the month it was parked in, then its id.
 *
 * @example
 * parkSk('2026-03', 'msg-1') // '2026-03#msg-1'
 */
export const parkSk = (month: string, messageId: string) => `${month}#${messageId}`;

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
