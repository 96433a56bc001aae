import type { Logger } from '@aws-lambda-powertools/logger';
import type { NotifyQueueMessage } from '../contracts/notifyMessage';
import type { Tenant } from '../contracts/tenant';
import type { AccessTokens } from '../dingtalk/accessTokens';
import type { CallGate } from '../dingtalk/callGate';
import type { DingTalkClient } from '../dingtalk/client';
import type { Table } from '../store/table';
import type { DeliveryResult } from './verdict';

/** Everything a kind handler may use. */
export interface DeliveryContext {
  table: Table;
  client: DingTalkClient;
  gate: CallGate;
  tokens: AccessTokens;
  now: () => number;
  getTenant(tenantId: string): Promise<Tenant | undefined>;
  log: Logger;
  /** Concurrent DingTalk sends within one message. */
  concurrency: number;
}

/** Delivers one message of a kind. The extension point: the war room plugs in here. */
export type KindHandler<K extends NotifyQueueMessage['kind']> = (ctx: DeliveryContext, msg: Extract<NotifyQueueMessage, { kind: K }>) => Promise<DeliveryResult>;
export type KindHandlers = { [K in NotifyQueueMessage['kind']]: KindHandler<K> };
