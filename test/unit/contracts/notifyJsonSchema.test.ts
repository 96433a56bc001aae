import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ACTIONS_SCHEMA_FILE, actionsJsonSchemaText, NOTIFY_SCHEMA_FILE, notifyJsonSchemaText } from '../../../lib/cli/schema';

/** Publishers get the notify contract as a JSON Schema file; it must say what the zod schema says. */
describe('the committed JSON Schema of the notify message', () => {
  it(`is current: ${NOTIFY_SCHEMA_FILE} is what "npm run schema" generates from lib/contracts/notifyMessage.ts`, () => {
    const committed = readFileSync(join(__dirname, '..', '..', '..', NOTIFY_SCHEMA_FILE), 'utf8');
    expect(committed).toBe(notifyJsonSchemaText());
  });
});

/** Flashduty gets the actions contract the same way (docs/two-way.md). */
describe('the committed JSON Schema of the actions message', () => {
  it(`is current: ${ACTIONS_SCHEMA_FILE} is what "npm run schema" generates from lib/contracts/actionsMessage.ts`, () => {
    const committed = readFileSync(join(__dirname, '..', '..', '..', ACTIONS_SCHEMA_FILE), 'utf8');
    expect(committed).toBe(actionsJsonSchemaText());
  });

  it('names both kinds of action and requires what a reader needs', () => {
    const schema = JSON.parse(actionsJsonSchemaText()) as { oneOf?: Array<{ properties: Record<string, { enum?: string[]; const?: string }>; required: string[] }>; anyOf?: unknown };
    const variants = schema.oneOf ?? (schema.anyOf as NonNullable<typeof schema.oneOf>);
    expect(variants).toHaveLength(2);
    const [incident, link] = variants;
    expect(incident.properties.action.enum).toEqual(['ack', 'close', 'snooze']);
    expect(incident.required).toEqual(expect.arrayContaining(['version', 'id', 'tenantId', 'at', 'incidentId', 'action', 'by']));
    expect(link.properties.action.const).toBe('member.link');
  });
});
