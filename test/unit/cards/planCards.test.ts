import { planCards } from '../../../lib/cards/deliverCards';
import type { NotifyAttempt } from '../../../lib/notify/notifyAttempt';
import { aNotify, aTenant } from '../../support/factories';

/** An attempt as planCards reads it: the tenant lookup, PUBLIC_URL and a logger that keeps its lines. */
function anAttempt(opts: { cardTemplateId?: string; publicUrl?: string; incident?: boolean }) {
  const tenant = aTenant(opts.cardTemplateId ? { cardTemplateId: opts.cardTemplateId } : {});
  const lines: string[] = [];
  const log = { info: (m: string) => lines.push(m), warn: (m: string) => lines.push(m) };
  const msg = aNotify(tenant, opts.incident === false ? {} : { incident: { id: 'inc-1', status: 'triggered' }, actions: ['ack'] });
  const explained: string[] = [];
  const attempt = { ctx: { getTenant: async () => tenant, publicUrl: opts.publicUrl }, msg, log, explain: (r: string) => explained.push(r) } as unknown as NotifyAttempt;
  return { attempt, lines, explained };
}

describe('which incident pages go as cards (docs/two-way.md, "Cards")', () => {
  it('no PUBLIC_URL: the static action card, and the log and the message state say why', async () => {
    const { attempt, lines, explained } = anAttempt({ cardTemplateId: 'tpl' });
    expect(await planCards(attempt)).toBeUndefined();
    expect(lines).toEqual([expect.stringContaining('PUBLIC_URL is not configured')]);
    expect(explained).toEqual(lines);
  });

  it('no cardTemplateId: the static action card, and the log and the message state say why', async () => {
    const { attempt, lines, explained } = anAttempt({ publicUrl: 'https://b.test' });
    expect(await planCards(attempt)).toBeUndefined();
    expect(lines).toEqual([expect.stringContaining('no cardTemplateId')]);
    expect(explained).toEqual(lines);
  });

  it('a page about no incident is never a card', async () => {
    const { attempt, lines } = anAttempt({ cardTemplateId: 'tpl', publicUrl: 'https://b.test', incident: false });
    expect(await planCards(attempt)).toBeUndefined();
    expect(lines).toEqual([]);
  });
});
