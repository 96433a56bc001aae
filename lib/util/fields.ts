/**
 * Reads a key case-insensitively: DingTalk's push formats spell the same field `openConversationId`,
 * `OpenConversationId`, `CorpId` or `corpId`. An exact match wins.
 *
 * @example
 * getField({ OpenConversationId: 'cid1' }, 'openConversationId') // 'cid1'
 */
export function getField(obj: Record<string, unknown>, name: string): unknown {
  if (name in obj) return obj[name];
  const lower = name.toLowerCase();
  for (const k of Object.keys(obj)) if (k.toLowerCase() === lower) return obj[k];
  return undefined;
}
