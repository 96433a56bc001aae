import { createTable, type Table } from '../../lib/store/table';
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

/**
 * For a test file that only needs the table: DynamoDB Local and the SQS server started before
 * its tests and stopped after them. The returned table is filled in once they are up.
 *
 * @example
 * const table = useLocalTable();
 * it('...', async () => { await reserveCalls(table, 'corp', 1, { quota: 10 }); });
 */
export function useLocalTable(): Table {
  const table = {} as Table;
  let aws: LocalAws | undefined;
  beforeAll(async () => {
    aws = await startLocalAws();
    Object.assign(table, createTable(aws.tableName));
  });
  afterAll(async () => {
    table.doc?.destroy();
    await aws?.stop();
  });
  return table;
}
