import { neverCreated } from '../../../lib/cards/deliverCards';

/** Which failed creates delete the card's records again (docs/two-way.md, "Cards", "A refused create"). */
describe('a failed card create that certainly made no card', () => {
  it.each([
    ['a refusal (template unpublished), first attempt', { kind: 'permanent', code: 'param.templateUnpublished' }, undefined, true],
    ['the monthly quota', { kind: 'quotaExhausted', code: 'quota' }, undefined, true],
    ['a refusal after an earlier failed attempt (a redrive)', { kind: 'permanent', code: 'param.invalid' }, { status: 'failed' }, true],
    ['a space not delivered to: the card exists', { kind: 'permanent', code: 'card.spaceFailed' }, undefined, false],
    ['an ambiguous 5xx: it may exist', { kind: 'retryable', code: 'system.busy' }, undefined, false],
    ['a refusal after an ambiguous answer: an earlier attempt may have made it', { kind: 'permanent', code: 'param.templateUnpublished' }, { status: 'retry', possibleDuplicate: true }, false],
    ['a refusal after an orphaned claim', { kind: 'permanent', code: 'param.templateUnpublished' }, { status: 'pending' }, false],
  ])('%s', (_what, r, earlier, expected) => {
    expect(neverCreated(r, earlier)).toBe(expected);
  });
});
