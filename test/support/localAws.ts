import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createTable, type Table } from '../../lib/store/table';
import { freePort, LOCAL_CREDENTIALS, LOCAL_REGION, localEnv, provision, startDynamoDbLocal, startSqsLocal, type Provisioned } from '../../infra/local/services';
import type { SharedDynamoDb } from './environment';

export interface LocalAws extends Provisioned {
  env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * Starts the SQS server on a free port and, in the jest worker's DynamoDB Local (one of its own
 * outside the test environment), creates a table of its own and the queues; points process.env at
 * them (so handler modules imported afterwards use them). Call in beforeAll; `stop()` in afterAll
 * (it deletes the table).
 */
export async function startLocalAws(): Promise<LocalAws> {
  const shared = (globalThis as SharedDynamoDb).sharedDynamoDbLocal;
  const [dynamo, sqs] = await Promise.all([shared ? shared() : startDynamoDbLocal(await freePort()), startSqsLocal(await freePort())]);
  const endpoints = { dynamodb: dynamo.endpoint, sqs: sqs.endpoint };
  const p = await provision(endpoints, `test-${process.pid}-${Date.now()}`);
  const env = localEnv(endpoints, p);
  Object.assign(process.env, env);
  const dropTable = async () => {
    const ddb = new DynamoDBClient({ endpoint: endpoints.dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    await ddb.send(new DeleteTableCommand({ TableName: p.tableName })).finally(() => ddb.destroy());
  };
  return { ...p, env, stop: async () => void (await Promise.all([dropTable().then(dynamo.stop), sqs.stop()])) };
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
