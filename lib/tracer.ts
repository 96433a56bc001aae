import { Tracer } from '@aws-lambda-powertools/tracer';
import { SERVICE_NAME } from './contracts/deployment';

/**
 * The one Powertools tracer (AWS X-Ray): the functions open a segment per invocation with its
 * `captureLambdaHandler` middleware, and every AWS SDK client is captured where it is created, so
 * each DynamoDB and SQS request is a subsegment (DingTalk's HTTPS calls are captured by the tracer
 * itself). Outside Lambda (tests, the CLI, the local stack) it is off and changes nothing.
 */
export const tracer = new Tracer({ serviceName: SERVICE_NAME });

/**
 * An AWS SDK v3 client whose requests are traced (X-Ray subsegments); the client itself outside Lambda.
 *
 * @example
 * const sqs = traced(new SQSClient({}));
 */
export const traced = <T>(client: T): T => tracer.captureAWSv3Client(client);
