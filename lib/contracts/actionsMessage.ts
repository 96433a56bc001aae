import { z } from 'zod';
import { CARD_ACTIONS, memberIdSchema } from './notifyMessage';
import { issueList } from './validation';

/**
 * The actions queue message, contract v1 (docs/two-way.md): what the bridge hands back to Flashduty.
 * A button pressed on a card (`ack`, `close`, `snooze`) or a DingTalk user linked to a Flashduty
 * member (`member.link`). The bridge writes it; Flashduty (or the bridge's own Flashduty Open API
 * adapter, per tenant) reads it. `id` is stable: a repeat of the same press carries the same id.
 */

export const ACTIONS_CONTRACT_VERSION = 1;

/** Snooze: 1 to 1440 minutes (docs/flashduty-api.md §5). */
export const MAX_SNOOZE_MINUTES = 1440;
/** The snooze presets of the card's buttons: 2, 4 and 12 hours. */
export const SNOOZE_PRESETS_MINUTES = [120, 240, 720] as const;

const envelope = {
  version: z.literal(ACTIONS_CONTRACT_VERSION, `version must be ${ACTIONS_CONTRACT_VERSION}`),
  id: z.string().min(1).max(256),
  tenantId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'tenantId: 1-64 letters, digits, _ or -'),
  at: z.iso.datetime({ offset: true }),
};

const actor = z
  .object({
    dingtalkUserId: z.string().min(1).max(128),
    memberId: memberIdSchema.optional(),
    /** The DingTalk user's name, as DingTalk gave it when the link was made. */
    name: z.string().max(64).optional(),
  })
  .strict();

export const incidentActionSchema = z
  .object({
    ...envelope,
    incidentId: z.string().min(1).max(64),
    action: z.enum(CARD_ACTIONS),
    snoozeMinutes: z.number().int().min(1).max(MAX_SNOOZE_MINUTES).optional(),
    by: actor,
  })
  .strict()
  .refine((m) => (m.action === 'snooze') === (m.snoozeMinutes !== undefined), { message: 'snoozeMinutes is required for snooze and only for snooze', path: ['snoozeMinutes'] });

export const memberLinkSchema = z
  .object({
    ...envelope,
    action: z.literal('member.link'),
    by: actor.required({ memberId: true }),
  })
  .strict();

export const actionsMessageSchema = z.discriminatedUnion('action', [incidentActionSchema, memberLinkSchema]);

export type IncidentAction = z.infer<typeof incidentActionSchema>;
export type MemberLink = z.infer<typeof memberLinkSchema>;
export type ActionsMessage = z.infer<typeof actionsMessageSchema>;

/**
 * Validates an actions message (JSON text or a parsed value). Never throws.
 *
 * @example
 * const r = parseActionsMessage(record.body);
 * if (!r.ok) throw new Error(r.reason);
 */
export function parseActionsMessage(input: unknown): { ok: true; message: ActionsMessage } | { ok: false; reason: string } {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch {
      return { ok: false, reason: 'body is not JSON' };
    }
  }
  const r = actionsMessageSchema.safeParse(value);
  if (r.success) return { ok: true, message: r.data };
  return { ok: false, reason: `invalid actions message: ${issueList(r.error.issues).join('; ')}` };
}
