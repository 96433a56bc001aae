import { z } from 'zod';
import { DEFAULT_CALLBACK_WINDOW_SECONDS } from './deployment';
import { formatIssues } from './validation';

/**
 * The environment contract of every function (docs/DESIGN.md): one schema. The CDK stack
 * (infra/stack.ts) and the local stack (infra/local) build their maps as {@link EnvMap}, so a
 * renamed variable fails to compile there too.
 */
/** DingTalk's endpoints, the defaults of DINGTALK_API_URL and DINGTALK_OAPI_URL. */
export const DINGTALK_URLS = { api: 'https://api.dingtalk.com', oapi: 'https://oapi.dingtalk.com' } as const;
/** Flashduty's Open API endpoint (docs/flashduty-api.md §0), the default of FLASHDUTY_API_URL. */
export const FLASHDUTY_URLS = { api: 'https://api.flashcat.cloud' } as const;

export const envSchema = z.object({
  TABLE_NAME: z.string().min(1),
  EVENTS_QUEUE_URL: z.string().url().optional(),
  /** The events dead-letter queue: the events function sends records that can never be processed here. */
  EVENTS_DLQ_URL: z.string().url().optional(),
  NOTIFY_QUEUE_URL: z.string().url().optional(),
  /** The notify dead-letter queue: the sender puts messages that can never be delivered here, with the reason. */
  NOTIFY_DLQ_URL: z.string().url().optional(),
  /** The drain queue: requests to send an app's backlog (lib/lanes). */
  DRAIN_QUEUE_URL: z.string().url().optional(),
  /** Sender retry backoff: delay before the 2nd receive, doubling per receive (jittered), seconds. */
  NOTIFY_RETRY_BASE_SECONDS: z.coerce.number().min(0).max(900).default(5),
  /** Per-request timeout for DingTalk calls, ms. */
  DINGTALK_TIMEOUT_MS: z.coerce.number().int().positive().max(60_000).default(8000),
  DINGTALK_API_URL: z.string().url().default(DINGTALK_URLS.api),
  DINGTALK_OAPI_URL: z.string().url().default(DINGTALK_URLS.oapi),
  /** Flashduty's Open API (issue 16's adapter); the local stack points it at its Flashduty simulator. */
  FLASHDUTY_API_URL: z.string().url().default(FLASHDUTY_URLS.api),
  /** The internal actions queue: card button presses the callback verified (lib/actions). */
  ACTIONS_QUEUE_URL: z.string().url().optional(),
  /** The internal actions queue's dead-letter queue: actions that can never be handed over go here, with the reason. */
  ACTIONS_DLQ_URL: z.string().url().optional(),
  /** Actions retry backoff (Flashduty 429, 5xx, no answer): delay before the 2nd receive, doubling per receive, seconds. */
  ACTIONS_RETRY_BASE_SECONDS: z.coerce.number().min(0).max(900).default(1),
  /** The outbound actions queue Flashduty reads (lib/contracts/actionsMessage.ts). */
  FLASHDUTY_ACTIONS_QUEUE_URL: z.string().url().optional(),
  /** The bridge's public base URL (the HTTP API): card callbacks and link pages are registered under it. */
  PUBLIC_URL: z.string().url().optional(),
  CALLBACK_WINDOW_SECONDS: z.coerce.number().int().positive().default(DEFAULT_CALLBACK_WINDOW_SECONDS),
});

export type Config = z.infer<typeof envSchema>;

/** Every variable the functions read. */
export type EnvName = keyof Config;

/** An environment for the functions, as a stack sets it: only contract names, values as strings. */
export type EnvMap = { readonly [K in EnvName]?: string };

/**
 * Reads and validates the environment contract. Call once at module scope.
 *
 * @example
 * const config = loadConfig();
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) throw new Error(`invalid configuration: ${formatIssues(parsed.error.issues)}`);
  return parsed.data;
}

/** The named variable, or a clear error when a handler that needs it runs without it. */
export function required<K extends EnvName>(config: Config, key: K): NonNullable<Config[K]> {
  const value = config[key];
  if (value === undefined || value === null || value === '') throw new Error(`configuration ${String(key)} is required`);
  return value as NonNullable<Config[K]>;
}
