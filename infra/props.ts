import type { StackProps } from 'aws-cdk-lib';

/**
 * The stack's options and their defaults, in a module of their own: infra/stack.ts builds from them
 * and infra/context.ts reads them from CDK context, and neither imports the other.
 */

/** CloudFormation stack name (context `stackName`). */
export const DEFAULT_STACK_NAME = 'DingtalkBridge';

/** HTTP API default-stage throttling. DingTalk pushes a few events per minute per tenant; this leaves ample room. */
export const DEFAULT_THROTTLE = { rateLimit: 50, burstLimit: 100 } as const;

/** The homepage route's own throttling: people open it by hand, so a few views a second is plenty. */
export const DEFAULT_HOMEPAGE_THROTTLE = { rateLimit: 5, burstLimit: 10 } as const;

/** The link routes' own throttling: a member opens their link once or twice. */
export const DEFAULT_LINK_THROTTLE = { rateLimit: 5, burstLimit: 10 } as const;

/** How often the unpark sweep runs by default (context `unparkMinutes`). */
export const DEFAULT_UNPARK_MINUTES = 10;

/** Most concurrent sender invocations by default (context `maxConcurrency`). */
export const DEFAULT_SENDER_MAX_CONCURRENCY = 10;

export interface DingtalkBridgeStackProps extends StackProps {
  /** Keep the table and its KMS key (and the log groups) when the stack is deleted. @default true */
  readonly retain?: boolean;
  /** Send every alarm to an SNS topic with this e-mail subscription. @default no topic */
  readonly alarmEmail?: string;
  /** HTTP API default-stage throttling. @default DEFAULT_THROTTLE */
  readonly apiThrottle?: { readonly rateLimit: number; readonly burstLimit: number };
  /** The homepage route's throttling; the callback route keeps `apiThrottle`. @default DEFAULT_HOMEPAGE_THROTTLE */
  readonly homepageThrottle?: { readonly rateLimit: number; readonly burstLimit: number };
  /** The link routes' throttling (GET and POST each). @default DEFAULT_LINK_THROTTLE */
  readonly linkThrottle?: { readonly rateLimit: number; readonly burstLimit: number };
  /** PUBLIC_URL of the functions: the bridge's base URL as members reach it (a custom domain). @default the HTTP API's endpoint */
  readonly publicUrl?: string;
  /** DINGTALK_API_URL of the functions. @default DINGTALK_URLS.api (https://api.dingtalk.com) */
  /** FLASHDUTY_API_URL for the actions function. @default https://api.flashcat.cloud */
  readonly flashdutyApiUrl?: string;
  readonly dingtalkApiUrl?: string;
  /** DINGTALK_OAPI_URL of the functions. @default DINGTALK_URLS.oapi (https://oapi.dingtalk.com) */
  readonly dingtalkOapiUrl?: string;
  /** How often the unpark function re-queues parked messages, whole minutes. @default DEFAULT_UNPARK_MINUTES */
  readonly unparkMinutes?: number;
  /**
   * Most concurrent sender invocations the notify queue's event source starts (SQS maximum
   * concurrency, 2-1000). @default DEFAULT_SENDER_MAX_CONCURRENCY
   */
  readonly senderMaxConcurrency?: number;
  /**
   * Flashduty publishes from its own AWS account: a role that account may assume with the ExternalId,
   * allowed to send to the notify queue and nothing else. @default no role (attach the publisher policy yourself)
   */
  readonly publisher?: PublisherAccount;
}

/** The AWS account Flashduty publishes from, and the ExternalId it must present. */
export interface PublisherAccount {
  /** 12-digit AWS account id. */
  readonly accountId: string;
  /** The ExternalId Flashduty gives you. @default the stack's own id (its CloudFormation stack UUID), printed as an output */
  readonly externalId?: string;
}
