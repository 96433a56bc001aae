import { Aws, Fn } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { PublisherAccount } from './props';

export interface PublisherRoleProps extends PublisherAccount {
  /**
   * What Flashduty may do: sqs:SendMessage on the notify queue (the publisher policy) and read the
   * outbound actions queue (the actions consumer policy, docs/two-way.md), nothing else.
   */
  readonly policies: readonly iam.IManagedPolicy[];
}

/**
 * The role Flashduty assumes from its own AWS account to publish notify messages and read the
 * outbound actions queue, so it needs no long-lived keys of ours. Its trust policy names that account
 * and requires the ExternalId (the confused-deputy guard,
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html); its policies are the
 * publisher policy and the actions consumer policy. The notify queue is encrypted with an SQS-managed key, so
 * sending needs no KMS permission.
 *
 * @example
 * const publisher = new PublisherRole(this, 'FlashdutyPublisher', { accountId: '111122223333', policies: [publish, readActions] });
 * new CfnOutput(this, 'PublisherRoleArn', { value: publisher.role.roleArn });
 */
export class PublisherRole extends Construct {
  readonly role: iam.Role;
  /** The ExternalId the role requires: the one given, else the stack's UUID (unique, stable across deploys). */
  readonly externalId: string;

  constructor(scope: Construct, id: string, props: PublisherRoleProps) {
    super(scope, id);
    this.externalId = props.externalId ?? Fn.select(2, Fn.split('/', Aws.STACK_ID));
    this.role = new iam.Role(this, 'Role', {
      description: `Flashduty (account ${props.accountId}) publishes dingtalk-bridge notify messages and reads its actions`,
      assumedBy: new iam.AccountPrincipal(props.accountId),
      externalIds: [this.externalId],
      managedPolicies: [...props.policies],
    });
  }
}
