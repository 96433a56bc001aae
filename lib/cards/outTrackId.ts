import { createHash } from 'node:crypto';
import type { CardSpace } from '../store/cards';

/** Characters of an outTrackId: DingTalk takes at most 64 (docs/dingtalk-api.md §9.1). */
export const OUT_TRACK_ID_CHARS = 40;
const PREFIX = 'dtb';

/**
 * The outTrackId of the card a message sends to one recipient (docs/two-way.md, "Cards"): derived
 * from tenant, message id, space and recipient, so a retry of a create whose answer was lost names
 * the same card (DingTalk then answers `param.cardAlreadyExist`: delivered) and no page is sent twice.
 *
 * @example
 * cardOutTrackId('acme', 'page-1', 'user', 'u1') // 'dtb' + 37 hex characters, always the same
 */
export function cardOutTrackId(tenantId: string, messageId: string, space: CardSpace, to: string): string {
  const hash = createHash('sha256').update(JSON.stringify([tenantId, messageId, space, to])).digest('hex');
  return `${PREFIX}${hash.slice(0, OUT_TRACK_ID_CHARS - PREFIX.length)}`;
}
