import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { openEnvelope, sealEnvelope } from '../dingtalk/crypto';
import { CALLBACK_ROUTE, pathFor } from '../contracts/routes';
import { getCallbackApp } from '../store/secrets';
import { applyLocalFlag, cliTable } from './stackEnv';

/**
 * `npm run push -- [--local] <tenantId> <event.json>`: signs and encrypts an event exactly as
 * DingTalk does with the tenant's token and aes_key, POSTs it to the callback URL (API_URL), and
 * checks the encrypted answer. For trying the callback path by hand.
 */
async function main(argv: string[]): Promise<number> {
  const [tenantId, file] = applyLocalFlag(argv);
  const apiUrl = process.env.API_URL;
  const table = apiUrl && tenantId && file ? cliTable({ err: console.error }) : undefined;
  if (!table) {
    console.error('usage: npm run push -- --local <tenantId> <event.json>   (or set API_URL and TABLE_NAME)');
    return 2;
  }
  const tenant = await getCallbackApp(table, tenantId);
  if (!tenant) {
    console.error(`no tenant ${tenantId}`);
    return 1;
  }
  const app = { token: tenant.token, aesKey: tenant.aesKey, receiverId: tenant.clientId };
  const event = JSON.parse(readFileSync(file, 'utf8'));
  const env = sealEnvelope(app, JSON.stringify(event), { timeStamp: String(Date.now()), nonce: randomBytes(4).toString('hex') });
  const qs = new URLSearchParams({ msg_signature: env.msg_signature, timestamp: env.timeStamp, nonce: env.nonce });
  const res = await fetch(`${apiUrl}${pathFor(CALLBACK_ROUTE, tenantId)}?${qs}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ encrypt: env.encrypt }),
  });
  const body = (await res.json()) as Record<string, string>;
  if (res.status !== 200) {
    console.error(`callback answered ${res.status}: ${JSON.stringify(body)}`);
    return 1;
  }
  const answer = openEnvelope(app, { signature: body.msg_signature, timestamp: body.timeStamp, nonce: body.nonce, encrypt: body.encrypt });
  console.log(`callback answered 200, decrypted answer: ${answer}`);
  return answer === 'success' ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (e) => {
    console.error(`error: ${(e as Error).message}`);
    process.exitCode = 1;
  },
);
