import { BridgeError } from '../errors';

/**
 * The card callback's own refusals (docs/two-way.md, "The card callback"): a press for a card, an
 * organisation or a tenant it does not belong to, and a replay.
 */

/** The press names a card or an organisation that is not this tenant's (403). */
export class ForbiddenError extends BridgeError {
  constructor(message: string) {
    super(message, 403, 'forbidden');
  }
}

/** The same signed press (timestamp, user) came before: a replay (409). */
export class ReplayError extends BridgeError {
  constructor() {
    super('this press was already received (replay)', 409, 'replay');
  }
}
