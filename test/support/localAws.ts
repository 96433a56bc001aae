import { freePort, localEnv, provision, startDynamoDbLocal, startSqsLocal, type Provisioned } from '../../infra/local/services';

export interface LocalAws extends Provisioned {
  env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * Starts DynamoDB Local and the SQS server on free ports, creates the table and queues, and points
 * process.env at them (so handler modules imported afterwards use them). Call in beforeAll;
 * `stop()` in afterAll.
 */
export async function startLocalAws(): Promise<LocalAws> {
  const [dynamo, sqs] = await Promise.all([startDynamoDbLocal(await freePort()), startSqsLocal(await freePort())]);
  const endpoints = { dynamodb: dynamo.endpoint, sqs: sqs.endpoint };
  const p = await provision(endpoints, `test-${process.pid}-${Date.now()}`);
  const env = localEnv(endpoints, p);
  Object.assign(process.env, env);
  return { ...p, env, stop: async () => void (await Promise.all([dynamo.stop(), sqs.stop()])) };
}
