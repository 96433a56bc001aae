import { parseActionsMessage } from '../contracts/actionsMessage';
import { drainMessageSchema } from '../contracts/drainMessage';
import { parseNotifyMessage } from '../contracts/notifyMessage';
import { issueList } from '../contracts/validation';
import { InvalidEventError } from '../events/errors';
import { prepareEvent } from '../events/prepareEvent';
import type { DeadLetter, DeadLetterQueue } from './deadLetters';

export interface PoisonChecks {
  /** Whether the tenant is registered now (a notify message for an unknown tenant is dead-lettered at once). */
  tenantExists(tenantId: string): Promise<boolean>;
}

/** What unpark writes when SQS refused to take a parked message back (lib/quota/unpark.ts). */
const SQS_REFUSED = /^SQS refused/;

/**
 * Why a dead letter would fail again for certain if sent back as it is, or undefined when a
 * redrive may succeed. Checked today, with the function's own rules: too long for its queue, a
 * message SQS refused, contents its function rejects (the notify contract, the events reader, the
 * drain request schema), a notify message for a tenant that is not registered. Everything else
 * (retries given up, DingTalk's permanent answers, SQS's own redrive) is worth another try once
 * its cause is fixed.
 *
 * @example
 * const why = await whyPoison(letter, dlq, { tenantExists: async (t) => Boolean(await getTenant(table, t)) });
 */
export async function whyPoison(letter: Pick<DeadLetter, 'queue' | 'body' | 'reason'>, dlq: Pick<DeadLetterQueue, 'maxMessageBytes'>, checks: PoisonChecks): Promise<string | undefined> {
  const bytes = Buffer.byteLength(letter.body);
  if (bytes > dlq.maxMessageBytes) return `too long for the ${letter.queue} queue: ${bytes} bytes, at most ${dlq.maxMessageBytes}`;
  if (SQS_REFUSED.test(letter.reason)) return letter.reason;
  switch (letter.queue) {
    case 'notify': {
      const r = parseNotifyMessage(letter.body);
      if (!r.ok) return r.reason;
      return (await checks.tenantExists(r.message.tenantId)) ? undefined : `tenant ${r.message.tenantId} is not registered`;
    }
    case 'events':
      try {
        prepareEvent(letter.body, 0);
        return undefined;
      } catch (e) {
        if (e instanceof InvalidEventError) return e.message;
        throw e;
      }
    case 'drain': {
      let json: unknown;
      try {
        json = JSON.parse(letter.body);
      } catch {
        return 'body is not JSON';
      }
      const r = drainMessageSchema.safeParse(json);
      return r.success ? undefined : `invalid drain request: ${issueList(r.error.issues).join('; ')}`;
    }
    case 'actions': {
      const r = parseActionsMessage(letter.body);
      if (!r.ok) return r.reason;
      return (await checks.tenantExists(r.message.tenantId)) ? undefined : `tenant ${r.message.tenantId} is not registered`;
    }
  }
}
