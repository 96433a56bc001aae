import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runNotifyCli } from '../../../lib/cli/notify';

/** The notify CLI refuses what the sender would dead-letter, before anything is queued. */

const dir = mkdtempSync(join(tmpdir(), 'notify-cli-'));
const file = (name: string, content: unknown) => {
  const p = join(dir, name);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
};

async function run(argv: string[], env: Record<string, string | undefined> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const saved = { ...process.env };
  Object.assign(process.env, env);
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
  try {
    const code = await runNotifyCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out, err };
  } finally {
    process.env = saved;
  }
}

describe('npm run notify', () => {
  it('an invalid message exits 2 listing every field error, and queues nothing', async () => {
    const r = await run([file('bad.json', { version: 1, id: 'x', tenantId: 'acme', kind: 'notify', to: {}, message: { title: '', markdown: 'm' } })], {
      NOTIFY_QUEUE_URL: 'http://127.0.0.1:1/000000000000/never-used',
    });
    expect(r.code).toBe(2);
    expect(r.err.join('\n')).toContain('not a valid notify message');
    expect(r.err).toEqual(expect.arrayContaining(['  - to: at least one of userIds, mobiles, openConversationIds, memberIds must be non-empty', '  - message.title: title is required']));
    expect(r.out).toEqual([]);
  });

  it('a file that is not JSON, or missing, exits 2', async () => {
    expect((await run([file('x.json', '{nope')])).err).toEqual([expect.stringContaining('not a valid notify message'), '  - body is not JSON']);
    expect((await run([join(dir, 'missing.json')])).code).toBe(2);
  });

  it('no queue configured: exits 2 and says how to point it at one', async () => {
    const r = await run([join(__dirname, '../../fixtures/notify-users.json')], { NOTIFY_QUEUE_URL: undefined });
    expect(r.code).toBe(2);
    expect(r.err[0]).toMatch(/NOTIFY_QUEUE_URL is not set/);
  });

  it('no arguments prints the usage', async () => {
    const r = await run([]);
    expect(r.code).toBe(2);
    expect(r.err[0]).toMatch(/^usage: npm run notify/);
  });
});
