import { z } from 'zod';
import { issueList } from './validation';

/**
 * The notify queue message, contract v1 (docs/DESIGN.md). One schema shared by the sender, the CLI and
 * the tests. Objects are strict: a misspelt key (`userIDs`) is an error, not a silently empty list.
 */

export const NOTIFY_CONTRACT_VERSION = 1;

/** DingTalk caps: 5 buttons on an action card, 20 users per batchSend (we chunk). */
export const MAX_BUTTONS = 5;
export const MAX_USER_IDS = 1000;
export const MAX_MOBILES = 200;
export const MAX_GROUPS = 50;
export const MAX_MEMBER_IDS = 1000;

/** Buttons a card may carry (contract v1 additions, docs/two-way.md). */
export const CARD_ACTIONS = ['ack', 'close', 'snooze'] as const;
/**
 * An incident's status as the bridge shows it. Flashduty's progress maps as Triggered -> triggered,
 * Processing -> acknowledged, Closed -> closed; snoozed is an acknowledged incident snoozed
 * (docs/flashduty-api.md §9).
 */
export const INCIDENT_STATUSES = ['triggered', 'acknowledged', 'snoozed', 'closed'] as const;

const text = (what: string, max: number) => z.string().trim().min(1, `${what} is required`).max(max, `${what}: at most ${max} characters`);
const httpUrl = z
  .string()
  .trim()
  .url('must be a URL')
  .refine((u) => /^https?:\/\//i.test(u), 'must be an http(s) URL');
const mobile = z.string().trim().regex(/^\+?[0-9][0-9-]{4,19}$/, 'must be a mobile number (digits, optional leading + and -)');
/** A Flashduty member (person) id: an integer, carried as its decimal string (docs/flashduty-api.md §0). */
export const memberIdSchema = z.string().regex(/^[1-9][0-9]{0,19}$/, 'memberId must be a Flashduty member id (digits)');
const idList = (what: string, item: z.ZodString, max: number) =>
  z.array(item, `${what} must be an array`).max(max, `${what}: at most ${max} entries`).optional();

export const severitySchema = z.enum(['critical', 'warning', 'info']);

export const buttonSchema = z.object({ title: text('button title', 30), url: httpUrl }).strict();

export const notifyMessageSchema = z
  .object({
    title: text('title', 200),
    // Not trimmed: the body is delivered byte-exact.
    markdown: z
      .string()
      .max(200_000, 'markdown: at most 200000 characters')
      .refine((m) => m.trim().length > 0, 'markdown is required'),
    url: httpUrl.optional(),
    buttons: z.array(buttonSchema).max(MAX_BUTTONS, `buttons: at most ${MAX_BUTTONS}`).optional(),
  })
  .strict();

export const recipientsSchema = z
  .object({
    userIds: idList('userIds', text('userId', 128), MAX_USER_IDS),
    mobiles: idList('mobiles', mobile, MAX_MOBILES),
    openConversationIds: idList('openConversationIds', text('openConversationId', 256), MAX_GROUPS),
    /** Flashduty members, resolved to DingTalk users through their links; an unlinked member is reported. */
    memberIds: z.array(memberIdSchema, 'memberIds must be an array').max(MAX_MEMBER_IDS, `memberIds: at most ${MAX_MEMBER_IDS} entries`).optional(),
  })
  .strict()
  .refine((to) => Boolean(to.userIds?.length || to.mobiles?.length || to.openConversationIds?.length || to.memberIds?.length), {
    message: 'at least one of userIds, mobiles, openConversationIds, memberIds must be non-empty',
  });

export const incidentStatusSchema = z.enum(INCIDENT_STATUSES);
export const cardActionSchema = z.enum(CARD_ACTIONS);

/** The incident a page is about: its cards follow it (incident.update). */
export const incidentRefSchema = z
  .object({
    id: text('incident.id', 64),
    status: incidentStatusSchema,
    url: httpUrl.optional(),
  })
  .strict();

/** Who changed an incident, as the cards show it. */
export const actorSchema = z
  .object({
    name: text('by.name', 64).optional(),
    memberId: memberIdSchema.optional(),
    dingtalkUserId: text('by.dingtalkUserId', 128).optional(),
  })
  .strict();

const envelope = {
  version: z.literal(NOTIFY_CONTRACT_VERSION, `version must be ${NOTIFY_CONTRACT_VERSION}`),
  id: text('id', 256),
  tenantId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'tenantId: 1-64 letters, digits, _ or -'),
};

export const notifySchema = z
  .object({
    ...envelope,
    kind: z.literal('notify'),
    to: recipientsSchema,
    message: notifyMessageSchema,
    severity: severitySchema.optional(),
    /** With `incident`, the page is an interactive card that follows the incident (tenant's cardTemplateId). */
    incident: incidentRefSchema.optional(),
    /** The buttons of the card; needs `incident`. */
    actions: z.array(cardActionSchema).min(1, 'actions: at least one').max(CARD_ACTIONS.length).optional(),
  })
  .strict()
  .refine((m) => !m.actions || m.incident, { message: 'actions need incident', path: ['actions'] })
  .refine((m) => !m.actions || new Set(m.actions).size === m.actions.length, { message: 'actions: each at most once', path: ['actions'] });

export const warRoomCreateSchema = z
  .object({
    ...envelope,
    kind: z.literal('war_room.create'),
    incident: z.object({ id: text('incident.id', 256), title: text('incident.title', 200), url: httpUrl.optional() }).strict(),
    ownerMobile: mobile,
    memberMobiles: z.array(mobile).max(MAX_MOBILES),
    severity: severitySchema.optional(),
  })
  .strict();

/** The incident changed in Flashduty: every card already sent for it (DMs, groups, war room) is updated. */
export const incidentUpdateSchema = z
  .object({
    ...envelope,
    kind: z.literal('incident.update'),
    incident: incidentRefSchema,
    by: actorSchema.optional(),
    severity: severitySchema.optional(),
    /**
     * When the change happened in Flashduty (ISO time). Updates apply in this order: an older one
     * arriving late changes nothing. Absent: the time the message reached the notify queue.
     */
    at: z.iso.datetime({ offset: true }).optional(),
    /** Snoozed until (ISO time), shown on the card. */
    snoozedUntil: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();

/** New responders for an incident's war room (the war room must exist). */
export const warRoomUpdateSchema = z
  .object({
    ...envelope,
    kind: z.literal('war_room.update'),
    incident: z.object({ id: text('incident.id', 256) }).strict(),
    memberMobiles: z.array(mobile).max(MAX_MOBILES).optional(),
    memberIds: z.array(memberIdSchema).max(MAX_MOBILES).optional(),
    severity: severitySchema.optional(),
  })
  .strict()
  .refine((m) => Boolean(m.memberMobiles?.length || m.memberIds?.length), { message: 'at least one of memberMobiles, memberIds must be non-empty' });

/** Dismiss (disband) an incident's war room. */
export const warRoomDismissSchema = z
  .object({ ...envelope, kind: z.literal('war_room.dismiss'), incident: z.object({ id: text('incident.id', 256) }).strict(), severity: severitySchema.optional() })
  .strict();

/** Every queue message: discriminated by `kind`. */
export const notifyQueueMessageSchema = z.discriminatedUnion('kind', [notifySchema, warRoomCreateSchema, incidentUpdateSchema, warRoomUpdateSchema, warRoomDismissSchema]);

export type Severity = z.infer<typeof severitySchema>;
export type NotifyButton = z.infer<typeof buttonSchema>;
export type NotifyContent = z.infer<typeof notifyMessageSchema>;
export type Recipients = z.infer<typeof recipientsSchema>;
export type NotifyRequest = z.infer<typeof notifySchema>;
export type WarRoomCreateRequest = z.infer<typeof warRoomCreateSchema>;
export type IncidentUpdateRequest = z.infer<typeof incidentUpdateSchema>;
export type WarRoomUpdateRequest = z.infer<typeof warRoomUpdateSchema>;
export type WarRoomDismissRequest = z.infer<typeof warRoomDismissSchema>;
export type IncidentRef = z.infer<typeof incidentRefSchema>;
export type IncidentStatus = z.infer<typeof incidentStatusSchema>;
export type CardAction = z.infer<typeof cardActionSchema>;
export type Actor = z.infer<typeof actorSchema>;
export type NotifyQueueMessage = z.infer<typeof notifyQueueMessageSchema>;
export type MessageKind = NotifyQueueMessage['kind'];

export type ParseResult =
  | { ok: true; message: NotifyQueueMessage }
  /** `id`/`tenantId` when they could be read, for logs and the dead-letter reason. */
  | { ok: false; reason: string; issues: string[]; id?: string; tenantId?: string };

const KINDS: readonly string[] = ['notify', 'war_room.create', 'incident.update', 'war_room.update', 'war_room.dismiss'];

/**
 * Validates a queue message (a JSON string or an already parsed value) against contract v1.
 * Never throws: an invalid message comes back with a one-line reason and every field error.
 *
 * @example
 * const r = parseNotifyMessage(record.body);
 * if (!r.ok) await deadLetter(record, r.reason);
 */
export function parseNotifyMessage(input: unknown): ParseResult {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch {
      return { ok: false, reason: 'body is not JSON', issues: ['body is not JSON'] };
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reason: 'body is not a JSON object', issues: ['body is not a JSON object'] };
  }
  const raw = value as Record<string, unknown>;
  const ids = { id: typeof raw.id === 'string' ? raw.id : undefined, tenantId: typeof raw.tenantId === 'string' ? raw.tenantId : undefined };
  if (raw.version !== NOTIFY_CONTRACT_VERSION) {
    const reason = `unsupported version ${JSON.stringify(raw.version ?? null)} (this sender reads version ${NOTIFY_CONTRACT_VERSION})`;
    return { ok: false, reason, issues: [reason], ...ids };
  }
  if (typeof raw.kind !== 'string' || !KINDS.includes(raw.kind)) {
    const reason = `unknown kind ${JSON.stringify(raw.kind ?? null)} (expected ${KINDS.join(' | ')})`;
    return { ok: false, reason, issues: [reason], ...ids };
  }
  const r = notifyQueueMessageSchema.safeParse(value);
  if (r.success) return { ok: true, message: r.data };
  const issues = issueList(r.error.issues);
  return { ok: false, reason: `invalid message: ${issues.join('; ')}`, issues, ...ids };
}
