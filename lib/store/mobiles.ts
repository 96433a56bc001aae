import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mobileKey } from '../contracts/tableKeys';
import { ttlAfter, type Table } from './table';

/**
 * Mobile number -> DingTalk userId, per organisation (`CORP#<corpId>` / `MOBILE#<mobile>`), so a
 * page to the same on-call phone does not cost a getbymobile call each time. "No such user"
 * (errcode 60121) is cached too, briefly, as `userId: null`.
 */

/** A found user: one day. */
export const MOBILE_TTL_SECONDS = 24 * 3600;
/** "No such user": ten minutes (the person may be added to the organisation soon). */
export const UNKNOWN_MOBILE_TTL_SECONDS = 10 * 60;

/** The cached answer, `{ userId: null }` for a cached "no such user", undefined when not cached or expired. */
export async function getCachedMobile(table: Table, corpId: string, mobile: string, nowMs: number): Promise<{ userId: string | null } | undefined> {
  const r = await table.doc.send(new GetCommand({ TableName: table.name, Key: mobileKey(corpId, mobile) }));
  const item = r.Item;
  // TTL deletion is lazy: an expired item may still be there.
  if (!item || typeof item.expiresAt !== 'number' || item.expiresAt * 1000 <= nowMs) return undefined;
  return { userId: typeof item.userId === 'string' ? item.userId : null };
}

export async function putCachedMobile(table: Table, corpId: string, mobile: string, userId: string | null, nowMs: number): Promise<void> {
  await table.doc.send(
    new PutCommand({
      TableName: table.name,
      Item: {
        ...mobileKey(corpId, mobile),
        type: 'mobile',
        ...(userId ? { userId } : {}),
        resolvedAt: new Date(nowMs).toISOString(),
        expiresAt: ttlAfter(nowMs, userId ? MOBILE_TTL_SECONDS : UNKNOWN_MOBILE_TTL_SECONDS),
      },
    }),
  );
}
