import { createHash } from 'node:crypto';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { ACTIONS_CONTRACT_VERSION, memberLinkSchema, type MemberLink } from '../contracts/actionsMessage';
import { MAX_LINK_BODY_BYTES } from '../contracts/routes';
import { AppSession } from '../dingtalk/appSession';
import type { AccessTokens } from '../dingtalk/accessTokens';
import type { CallGate } from '../dingtalk/callGate';
import type { DingTalkClient } from '../dingtalk/client';
import { NotFoundError, PayloadTooLargeError, ValidationError } from '../errors';
import { logger } from '../log';
import { sendJson } from '../queue/sqs';
import { forgetLinkUrlUse, putLink } from '../store/links';
import { getAppSecret } from '../store/secrets';
import type { Table } from '../store/table';
import { getTenant } from '../store/tenants';
import { LinkUsedError, verifyLink } from './token';
import { exchangeAuthCode, MAX_AUTH_CODE_LENGTH } from './userInfo';

/**
 * POST /link/{tenantId} (docs/two-way.md, "Linking"): the link page's auth code, with the link's
 * parameters. In order, the first failure answers and records nothing: the link checks out and
 * was not used (else 400 or 410, before any DingTalk call); the tenant exists (404); DingTalk
 * exchanges the code for the user (400 for a refused code, 503 when DingTalk cannot be asked now);
 * then the link is recorded (replacing the member's and the user's old pairings) together with the
 * URL's use, in one transaction conditioned on the URL being unused (a use that lost a race writes
 * nothing: 410), and published as `member.link` on the outbound actions queue. The use is recorded
 * only after a successful exchange: a refused code leaves the URL usable. No code, signature or
 * token is ever logged.
 */

export interface LinkDeps {
  table: Table;
  sqs: SQSClient;
  client: DingTalkClient;
  gate: CallGate;
  tokens: AccessTokens;
  /** FLASHDUTY_ACTIONS_QUEUE_URL. */
  queueUrl: string;
  now: () => number;
}

export interface LinkRequest {
  tenantId: string;
  body: string | undefined;
  isBase64Encoded?: boolean;
}

export interface LinkAnswer {
  linked: true;
  name: string;
}

/** The `member.link` message's id: one per (tenant, member, user), so a repeated link is the same message. */
export const memberLinkId = (tenantId: string, memberId: string, userId: string): string =>
  `link-${createHash('sha256').update(`${tenantId}\n${memberId}\n${userId}`, 'utf8').digest('hex').slice(0, 40)}`;

/** Longest name the actions contract takes (UTF-16 units, as zod counts). */
const MAX_NAME = 64;

/** `text` cut to at most `max` UTF-16 units, never inside a character. */
const clip = (text: string, max: number): string => {
  const chars = [...text];
  while (chars.join('').length > max) chars.pop();
  return chars.join('');
};

/** The `member.link` actions message for a link just made (contract: lib/contracts/actionsMessage.ts). */
export function memberLinkMessage(tenantId: string, link: { memberId: string; userId: string; name: string; linkedAt: string }): MemberLink {
  return memberLinkSchema.parse({
    version: ACTIONS_CONTRACT_VERSION,
    id: memberLinkId(tenantId, link.memberId, link.userId),
    tenantId,
    at: link.linkedAt,
    action: 'member.link',
    by: { dingtalkUserId: link.userId, memberId: link.memberId, ...(link.name ? { name: clip(link.name, MAX_NAME) } : {}) },
  });
}

function readBody(req: LinkRequest): { code: string; m?: unknown; e?: unknown; s?: unknown } {
  const text = req.body === undefined ? '' : req.isBase64Encoded ? Buffer.from(req.body, 'base64').toString('utf8') : req.body;
  if (Buffer.byteLength(text, 'utf8') > MAX_LINK_BODY_BYTES) throw new PayloadTooLargeError(MAX_LINK_BODY_BYTES);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ValidationError('body must be JSON: {code, m, e, s}');
  }
  if (typeof parsed !== 'object' || parsed === null) throw new ValidationError('body must be a JSON object: {code, m, e, s}');
  const b = parsed as Record<string, unknown>;
  if (typeof b.code !== 'string' || !b.code || b.code.length > MAX_AUTH_CODE_LENGTH) throw new ValidationError('code is required');
  return { code: b.code, m: b.m, e: b.e, s: b.s };
}

/**
 * Links the DingTalk user of an auth code to the member a signed link names.
 *
 * @example
 * const answer = await handleLink(deps, { tenantId: 'acme', body: event.body });
 * // { linked: true, name: '张三' }
 */
export async function handleLink(deps: LinkDeps, req: LinkRequest): Promise<LinkAnswer> {
  const { table } = deps;
  const body = readBody(req);
  const { memberId, expiresAt } = await verifyLink(table, req.tenantId, body, deps.now());
  const signature = body.s as string; // checked by verifyLink
  const [tenant, clientSecret] = await Promise.all([getTenant(table, req.tenantId), getAppSecret(table, req.tenantId)]);
  if (!tenant || clientSecret === undefined) throw new NotFoundError(`no integration ${req.tenantId}`);

  const session = new AppSession({ client: deps.client, gate: deps.gate, tokens: deps.tokens }, { tenantId: tenant.tenantId, corpId: tenant.corpId, clientId: tenant.clientId, clientSecret });
  const user = await exchangeAuthCode(session, deps.client, body.code);

  const link = { memberId, userId: user.userId, name: user.name, linkedAt: new Date(deps.now()).toISOString() };
  const replaced = await putLink(table, tenant.tenantId, { ...link, name: user.name || undefined }, { signature, expiresAt });
  if (replaced.used) throw new LinkUsedError();
  const message = memberLinkMessage(tenant.tenantId, link);
  // Recorded first: a failed publish forgets the URL's use and answers 500, and the member opens
  // the link again (same id).
  try {
    await sendJson(deps.sqs, deps.queueUrl, message, { groupId: tenant.tenantId });
  } catch (e) {
    await forgetLinkUrlUse(table, tenant.tenantId, signature, user.userId).catch((f: Error) => logger.error('link URL use not forgotten after a failed publish', { memberId, error: f.name }));
    throw e;
  }
  logger.info('member linked', { memberId, userId: user.userId, replacedUser: replaced.replacedUser, replacedMember: replaced.replacedMember, actionId: message.id });
  return { linked: true, name: user.name };
}
