import { createHash } from 'node:crypto';

/**
 * A stable hash of a validated queue message: the same id re-sent with other content is detected
 * (its delivery records keep the first hash).
 *
 * @example
 * await outcomes.begin({ kind: msg.kind, hash: contentHash(msg), severity: msg.severity });
 */
export const contentHash = (msg: unknown): string => createHash('sha256').update(JSON.stringify(msg)).digest('hex');
