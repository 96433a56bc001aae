import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { DEFAULT_TABLE_NAME } from '../../lib/constants';
import { startHttpApi, type Route } from './httpApi';
import { freePort, localEnv, provision, startDynamoDbLocal, startSqsLocal, type Provisioned } from './services';

export interface LocalStackOptions {
  port?: number;
  dynamoDbPort?: number;
  sqsPort?: number;
  tableName?: string;
  /** Write the endpoints to this file (KEY=value lines). */
  envFile?: string;
}

export interface LocalStack {
  env: Record<string, string>;
  queues: Provisioned;
  stop(): Promise<void>;
}

const num = (v: string | undefined): number | undefined => (v ? Number(v) : undefined);

/**
 * The local stack of DESIGN.md: DynamoDB Local, the SQS server, the table and queues, and the HTTP
 * API serving the real handlers. Sets process.env so handlers and the SDK use the local services.
 */
export async function startLocalStack(opts: LocalStackOptions = {}): Promise<LocalStack> {
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const [dynamo, sqs] = await Promise.all([
      startDynamoDbLocal(opts.dynamoDbPort ?? num(process.env.LOCAL_DYNAMODB_PORT) ?? (await freePort())),
      startSqsLocal(opts.sqsPort ?? num(process.env.LOCAL_SQS_PORT) ?? (await freePort())),
    ]);
    stops.push(dynamo.stop, sqs.stop);
    const endpoints = { dynamodb: dynamo.endpoint, sqs: sqs.endpoint };
    const queues = await provision(endpoints, opts.tableName ?? DEFAULT_TABLE_NAME);
    const env: Record<string, string> = localEnv(endpoints, queues);
    Object.assign(process.env, env);

    const routes: Route[] = [
      { method: 'POST', path: '/dingtalk/{tenantId}/callback', handler: async () => (await import('../../functions/callback')).handler },
    ];
    const api = await startHttpApi(routes, opts.port ?? num(process.env.PORT) ?? 3000);
    stops.push(() => new Promise<void>((r) => { api.server.closeAllConnections(); api.server.close(() => r()); }));
    env.API_URL = api.url;

    if (opts.envFile) {
      mkdirSync(dirname(opts.envFile), { recursive: true });
      writeFileSync(opts.envFile, `${Object.entries(env).map(([k, v]) => `${k}=${v}`).join('\n')}\n`, { mode: 0o600 });
    }
    return { env, queues, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
