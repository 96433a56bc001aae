import { z } from 'zod';
import { DEFAULT_CALLBACK_WINDOW_SECONDS } from './deployment';

const schema = z.object({
  TABLE_NAME: z.string().min(1),
  EVENTS_QUEUE_URL: z.string().url().optional(),
  /** The events dead-letter queue: the events function sends records that can never be processed here. */
  EVENTS_DLQ_URL: z.string().url().optional(),
  NOTIFY_QUEUE_URL: z.string().url().optional(),
  /** The notify dead-letter queue: the sender puts messages that can never be delivered here, with the reason. */
  NOTIFY_DLQ_URL: z.string().url().optional(),
  /** Sender retry backoff: delay before the 2nd receive, doubling per receive (jittered), seconds. */
  NOTIFY_RETRY_BASE_SECONDS: z.coerce.number().min(0).max(900).default(5),
  /** Per-request timeout for DingTalk calls, ms. */
  DINGTALK_TIMEOUT_MS: z.coerce.number().int().positive().max(60_000).default(8000),
  DINGTALK_API_URL: z.string().url().default('https://api.dingtalk.com'),
  DINGTALK_OAPI_URL: z.string().url().default('https://oapi.dingtalk.com'),
  CALLBACK_WINDOW_SECONDS: z.coerce.number().int().positive().default(DEFAULT_CALLBACK_WINDOW_SECONDS),
});

export type Config = z.infer<typeof schema>;

/**
 * Reads and validates the environment contract (see DESIGN.md). Call once at module scope.
 *
 * @example
 * const config = loadConfig();
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${fields}`);
  }
  return parsed.data;
}

/** The named variable, or a clear error when a handler that needs it runs without it. */
export function required<K extends keyof Config>(config: Config, key: K): NonNullable<Config[K]> {
  const value = config[key];
  if (value === undefined || value === null || value === '') throw new Error(`configuration ${String(key)} is required`);
  return value as NonNullable<Config[K]>;
}
