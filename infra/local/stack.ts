import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DEFAULT_TABLE_NAME, QUEUES } from '../../lib/contracts/deployment';
import { DEFAULT_SENDER_MAX_CONCURRENCY } from '../props';
import type { EnvMap } from '../../lib/contracts/env';
import { CALLBACK_ROUTE, CARD_CALLBACK_ROUTE, HOMEPAGE_ROUTE, LINK_PAGE_ROUTE, LINK_POST_ROUTE } from '../../lib/contracts/routes';
import { pollerSettings, startPoller, type SqsHandler } from './poller';
import type { Simulator } from './dingtalkSimulator/simulator';
import { lambdaContext, startHttpApi, type Route } from './httpApi';
import { createTable } from '../../lib/store/table';
import { startLocalSimulator } from './dingtalkSimulator/local';
import { seedAccountIds, startLocalFlashduty } from './flashdutySimulator/local';
import { startSimControl } from './simControl';
import { SIM_CONTROL_VARIABLE } from '../../lib/contracts/simControl';
import type { FlashdutySimulator } from './flashdutySimulator/simulator';
import { freePort, localEnv, provision, startDynamoDbLocal, startSqsLocal, type LocalEnv, type Provisioned } from './services';

export interface LocalStackOptions {
  port?: number;
  dynamoDbPort?: number;
  sqsPort?: number;
  tableName?: string;
  /** Write the endpoints to this file (KEY=value lines). */
  envFile?: string;
  /** Network jitter the DingTalk simulator adds to each call (ms range). */
  simulatorJitterMs?: [number, number];
  /** Where the simulator prints each call it receives (npm start: stdout). */
  print?: (line: string) => void;
  /** Parallel receive loops per queue consumer always running, like warm Lambda instances (default 1). */
  pollerConcurrency?: number;
  /**
   * Most concurrent sender invocations under a backlog (default LOCAL_SENDER_MAX_CONCURRENCY, else the
   * deployed default, 10).
   */
  senderMaxConcurrency?: number;
  /** How often parked messages are offered back to the notify queue (default 15 s). */
  unparkEveryMs?: number;
  /** Returns the endpoint the handlers should use for DynamoDB, given DynamoDB Local's (a counting proxy, say). */
  dynamoDbEndpoint?: (endpoint: string) => Promise<string>;
}

/** Written to the env file besides the services' environment: the HTTP API's base URL, also PUBLIC_URL (link URLs). */
export interface LocalApiEnv {
  readonly API_URL: string;
  readonly PUBLIC_URL: string;
  /**
   * The simulators' loopback control server (lib/contracts/simControl.ts; `npm run sim`), when this
   * stack started a simulator.
   */
  readonly [SIM_CONTROL_VARIABLE]?: string;
}

/**
 * The local stack's environment, as written to the env file: the local services' (every variable
 * {@link localEnv} sets), DINGTALK_API_URL and DINGTALK_OAPI_URL when it started the simulator,
 * FLASHDUTY_API_URL when it started the Flashduty simulator, PUBLIC_URL (the HTTP API's base URL)
 * unless one was set, and {@link LocalApiEnv}.
 */
export type LocalStackEnv = ReturnType<typeof localEnv> & LocalEnv & LocalApiEnv & Pick<EnvMap, 'PUBLIC_URL'>;

export interface LocalStack {
  env: LocalStackEnv;
  queues: Provisioned;
  /** The DingTalk simulator, when this stack started one (no DINGTALK_API_URL given). */
  simulator?: Simulator;
  /** The Flashduty simulator (docs/flashduty-api.md), when this stack started one (no FLASHDUTY_API_URL given). */
  flashduty?: FlashdutySimulator;
  stop(): Promise<void>;
}

const num = (v: string | undefined): number | undefined => (v ? Number(v) : undefined);

/**
 * The local stack of docs/DESIGN.md: DynamoDB Local, the SQS server, the table and queues, and the HTTP
 * API serving the real handlers. Sets process.env so handlers and the SDK use the local services.
 */
export async function startLocalStack(opts: LocalStackOptions = {}): Promise<LocalStack> {
  let simulator: Simulator | undefined;
  let flashduty: FlashdutySimulator | undefined;
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
    // The handlers may reach DynamoDB through a wrapper (the benchmark counts requests there).
    const dynamodb = opts.dynamoDbEndpoint ? await opts.dynamoDbEndpoint(endpoints.dynamodb) : endpoints.dynamodb;
    const services = localEnv({ ...endpoints, dynamodb }, queues);
    Object.assign(process.env, services);
    let dingtalk: Pick<EnvMap, 'DINGTALK_API_URL' | 'DINGTALK_OAPI_URL'> = {};
    if (!process.env.DINGTALK_API_URL) {
      const local = await startLocalSimulator(createTable(queues.tableName), { jitterMs: opts.simulatorJitterMs, print: opts.print });
      stops.push(local.stop);
      dingtalk = { DINGTALK_API_URL: local.sim.url, DINGTALK_OAPI_URL: local.sim.oapiUrl };
      simulator = local.sim;
    }
    Object.assign(process.env, dingtalk);
    let flashdutyEnv: Pick<EnvMap, 'FLASHDUTY_API_URL'> = {};
    if (!process.env.FLASHDUTY_API_URL) {
      const local = await startLocalFlashduty({ print: opts.print });
      stops.push(local.stop);
      flashdutyEnv = { FLASHDUTY_API_URL: local.sim.url };
      flashduty = local.sim;
    }
    Object.assign(process.env, flashdutyEnv);

    const routes: Route[] = [
      { ...CALLBACK_ROUTE, handler: async () => (await import('../../functions/callback')).handler },
      { ...CARD_CALLBACK_ROUTE, handler: async () => (await import('../../functions/callback')).handler },
      { ...HOMEPAGE_ROUTE, handler: async () => (await import('../../functions/homepage')).handler },
      { ...LINK_PAGE_ROUTE, handler: async () => (await import('../../functions/link')).handler },
      { ...LINK_POST_ROUTE, handler: async () => (await import('../../functions/link')).handler },
    ];
    // The HTTP API first: its base URL is PUBLIC_URL, which the sending functions read at load (card callbacks).
    const api = await startHttpApi(routes, opts.port ?? num(process.env.PORT) ?? 3000);
    stops.push(() => new Promise<void>((r) => { api.server.closeAllConnections(); api.server.close(() => r()); }));
    const publicEnv: Pick<EnvMap, 'PUBLIC_URL'> = process.env.PUBLIC_URL ? {} : { PUBLIC_URL: api.url };
    Object.assign(process.env, publicEnv);
    const sqsClient = new SQSClient({});
    stops.push(async () => sqsClient.destroy());
    const consumers = [
      { name: 'events', queueUrl: queues.eventsQueueUrl, settings: QUEUES.events, load: async () => (await import('../../functions/events')).handler },
      { name: 'sender', queueUrl: queues.notifyQueueUrl, settings: QUEUES.notify, load: async () => (await import('../../functions/sender')).handler },
      { name: 'drain', queueUrl: queues.drainQueueUrl, settings: QUEUES.drain, load: async () => (await import('../../functions/drain')).handler },
      { name: 'actions', queueUrl: queues.actionsQueueUrl, settings: QUEUES.actions, load: async () => (await import('../../functions/actions')).handler },
    ];
    for (const c of consumers) {
      const poller = startPoller({
        sqs: sqsClient,
        queueUrl: c.queueUrl,
        handler: (await c.load()) as SqsHandler,
        functionName: c.name,
        concurrency: opts.pollerConcurrency ?? 1,
        // The sender and the drain scale with their backlog up to the deployed maximum concurrency, as Lambda's event source does.
        maxConcurrency: c.name === 'sender' || c.name === 'drain' ? opts.senderMaxConcurrency ?? num(process.env.LOCAL_SENDER_MAX_CONCURRENCY) ?? DEFAULT_SENDER_MAX_CONCURRENCY : undefined,
        ...pollerSettings(c.settings),
      });
      stops.push(() => poller.stop());
    }

    // The schedule that sends parked messages back once the quota allows (every 10 min on AWS).
    const unpark = setInterval(() => {
      void import('../../functions/unpark').then((m) => m.handler({}, lambdaContext('unpark'))).catch((e: Error) => console.error(`[unpark] sweep failed: ${e.message}`));
    }, opts.unparkEveryMs ?? 15_000);
    stops.push(async () => clearInterval(unpark));

    // Local-only: lets a person press a card's button in the simulator (docs/two-way.md).
    let controlEnv: Pick<LocalApiEnv, typeof SIM_CONTROL_VARIABLE> = {};
    if (simulator || flashduty) {
      const control = await startSimControl({ dingtalk: simulator, flashduty, flashdutyAccounts: flashduty ? seedAccountIds() : [] });
      stops.push(control.stop);
      controlEnv = { [SIM_CONTROL_VARIABLE]: control.url };
    }

    const env: LocalStackEnv = { ...services, ...dingtalk, ...flashdutyEnv, API_URL: api.url, PUBLIC_URL: process.env.PUBLIC_URL ?? api.url, ...controlEnv };

    if (opts.envFile) {
      mkdirSync(dirname(opts.envFile), { recursive: true });
      writeFileSync(opts.envFile, `${Object.entries(env).map(([k, v]) => `${k}=${v}`).join('\n')}\n`, { mode: 0o600 });
    }
    return { env, queues, simulator, flashduty, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
