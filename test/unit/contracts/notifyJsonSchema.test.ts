import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NOTIFY_SCHEMA_FILE, notifyJsonSchemaText } from '../../../lib/cli/schema';

/** Publishers get the notify contract as a JSON Schema file; it must say what the zod schema says. */
describe('the committed JSON Schema of the notify message', () => {
  it(`is current: ${NOTIFY_SCHEMA_FILE} is what "npm run schema" generates from lib/contracts/notifyMessage.ts`, () => {
    const committed = readFileSync(join(__dirname, '..', '..', '..', NOTIFY_SCHEMA_FILE), 'utf8');
    expect(committed).toBe(notifyJsonSchemaText());
  });
});
