/** The DingTalk simulator's internal state, shared by its route handlers. */
import type { SimApp, SimCard, SimCardTemplate, SimGroupCreated, SimMessage, SimUser } from './types';
import type { Body } from './replies';

export interface Template { templateId: string; botId: string; installDelayMs?: number }
export interface Group {
  openConversationId: string; chatId: string; robotCodes?: string[]; coolAppCode?: string; disbanded: boolean;
  templateId?: string; createdAt: number; members: Set<string>;
}
export interface Corp {
  quota: number;
  users: Map<string, SimUser>;
  groups: Map<string, Group>;
  templates: Map<string, Template>;
  byUuid: Map<string, Group>;
}
/** A registered card callback route (§9.3), keyed by route key across all apps. */
export interface CallbackRoute { clientId: string; callbackUrl: string; apiSecret?: string }
/** An issued auth code (§10). */
export interface AuthCode { clientId: string; corpId: string; userId: string; expiresAt: number }

export interface SimState {
  now: () => number;
  apps: Map<string, SimApp>;
  corps: Map<string, Corp>;
  delivered: SimMessage[];
  created: SimGroupCreated[];
  cardTemplates: Map<string, Map<string, SimCardTemplate>>;
  cards: Map<string, SimCard>;
  routes: Map<string, CallbackRoute>;
  authCodes: Map<string, AuthCode>;
}

export interface Ctx { at: number; body: Body; query: URLSearchParams; app: SimApp; corp: Corp }

export const newCorp = (): Corp => ({ quota: 0, users: new Map(), groups: new Map(), templates: new Map(), byUuid: new Map() });

export function corpOf(s: SimState, corpId: string): Corp {
  let c = s.corps.get(corpId);
  if (!c) {
    c = newCorp();
    s.corps.set(corpId, c);
  }
  return c;
}
