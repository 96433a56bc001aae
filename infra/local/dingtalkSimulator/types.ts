/** The DingTalk simulator's public types: what tests and the local stack set up, call and inspect. */

export interface SimApp { clientId: string; clientSecret: string; corpId: string; qps: number; monthlyQuota: number }
export interface SimCall {
  /** Arrival, epoch ms from `performance` (after the jitter delay). */
  at: number;
  api: string;
  clientId?: string;
  corpId?: string;
  /** 0 while unanswered (and forever for a 'timeout' fault). */
  status: number;
  /** New API `code`, old API `errcode` as a string, 'html' for the HTML page; absent on success. */
  code?: string;
  body: unknown;
  response: unknown;
  /** Rejected because it broke the QPS window (not set for an injected 'qps' fault). */
  overLimit: boolean;
  /** Counted against the monthly quota. */
  counted: boolean;
  /** Set when an injected fault answered this call. */
  fault?: Fault['kind'];
}
/**
 * An injected fault. Refused before processing (nothing delivered): `5xx`, `timeout` (no answer),
 * `qps`, `html`, `quota`, `invalidToken`, `reset` (connection dropped). Processed, then the answer
 * is lost (delivered, yet the caller cannot know): `hangThenDeliver` (no answer before the caller
 * gives up), `deliverThen5xx`, `deliverThenReset`. Throttling answers: `qps`, `qpm`, `sendTooFast`,
 * `byTokenTooFast` (docs/dingtalk-api.md §2, §3, §8).
 */
export type FaultKind = '5xx' | 'timeout' | 'qps' | 'qpm' | 'sendTooFast' | 'byTokenTooFast' | 'html' | 'quota' | 'invalidToken' | 'reset' | 'hangThenDeliver' | 'deliverThen5xx' | 'deliverThenReset';
export interface Fault { api?: string; kind: FaultKind; count: number }
/** Faults drawn at random for every call of the listed APIs (all but the token API when absent), by probability. */
export interface FaultRates { apis?: string[]; rates: Partial<Record<FaultKind, number>> }
export interface SimulatorOptions {
  port?: number;
  /** Random delay [min, max] ms before a request "arrives" (network latency). */
  jitterMs?: [number, number];
  tokenTtlSeconds?: number;
  now?: () => number;
  /**
   * Where an app unknown to a token request is looked up before it is refused (the local stack reads
   * the tenant table: DingTalk knows an app as soon as it exists in the developer console).
   */
  lookupApp?: (clientId: string) => Promise<SimApp | undefined>;
}
export interface SimGroupCreated {
  openConversationId: string; chatId: string; title: string; templateId: string;
  ownerUserId: string; userIds: string[]; uuid: string;
}
export interface SimMessage {
  api: string; robotCode: string; to: string; msgKey: string; msgParam: any; coolAppCode?: string;
  /** Delivered, but the caller never got the answer (an injected after-delivery fault). */
  answerLost?: boolean;
}
export interface SimUser { userId: string; mobile?: string; unionId?: string; name?: string }
export interface SimGroupSetup {
  openConversationId: string; robotCodes?: string[]; coolAppCode?: string; disbanded?: boolean;
  /** Who is in the group (who sees a card sent to it); scene groups record theirs. */
  members?: string[];
}
/** A card template of the card platform (docs/dingtalk-api.md §9.1), owned by one app. */
export interface SimCardTemplate {
  templateId: string; published?: boolean;
  /** Variables marked private in the template (§9.1: private data has effect only on those). Default: `notice`, as docs/two-way.md's template has it. */
  privateParams?: string[];
}
export type CardParams = Record<string, string>;
/** One space a card was delivered to (§9.1), with whether DingTalk placed it there. */
export interface SimCardSpace {
  spaceType: 'IM_GROUP' | 'IM_ROBOT' | 'ONE_BOX'; spaceId: string; success: boolean; errorMsg?: string;
  robotCode?: string; recipients?: string[]; userIds?: string[]; expiresAt?: number; closed?: boolean;
}
/** A card the simulator holds, per outTrackId. */
export interface SimCard {
  outTrackId: string; clientId: string; corpId: string; cardTemplateId: string;
  cardData: CardParams; privateData: Record<string, CardParams>;
  /** What a callback answer gave one presser only (§9.4), on top of the rest. */
  presserData: Record<string, CardParams>;
  spaces: SimCardSpace[]; callbackType?: 'STREAM' | 'HTTP'; callbackRouteKey?: string; userIdType: 1 | 2;
  updates: number;
}
/** A button press sent the way DingTalk sends it (§9.4). */
export interface SimPress {
  outTrackId: string; userId: string; actionId: string; params?: Record<string, unknown>;
  /** Break the signature (a forged press as DingTalk never sends it). */
  badSignature?: boolean;
}
export interface SimPressResult {
  url: string; headers: Record<string, string>; body: Record<string, unknown>;
  /** HTTP status of the app's answer, 0 when it did not answer within the 2 s deadline. */
  status: number; answer: unknown;
}
export interface Simulator {
  url: string;
  oapiUrl: string;
  addApp(app: SimApp): void;
  addUser(corpId: string, user: SimUser): void;
  addGroup(corpId: string, group: SimGroupSetup): void;
  addTemplate(corpId: string, tpl: { templateId: string; botId: string; installDelayMs?: number }): void;
  addCardTemplate(clientId: string, tpl: SimCardTemplate): void;
  inject(fault: Fault): void;
  /** Faults at random, per call, until `setFaultRates(undefined)`. */
  setFaultRates(rates: FaultRates | undefined): void;
  expireTokens(): void;
  setQuotaUsed(corpId: string, used: number): void;
  calls: SimCall[];
  groupsCreated(): SimGroupCreated[];
  /** Members of a group (undefined for an unknown one) and whether it was disbanded. */
  group(corpId: string, openConversationId: string): { members: string[]; disbanded: boolean } | undefined;
  messages(): SimMessage[];
  cards(): SimCard[];
  card(outTrackId: string): SimCard | undefined;
  /** What `userId` sees of the card (public, then its private data, then a callback answer's), or undefined when they cannot see it. */
  cardSeenBy(outTrackId: string, userId: string): CardParams | undefined;
  /** The user presses a button: DingTalk's callback goes to the card's registered URL (§9.4). */
  pressButton(press: SimPress): Promise<SimPressResult>;
  /** What `dd.requestAuthCode` hands the page of `clientId` for this user (§10): 5 minutes, once. */
  issueAuthCode(clientId: string, userId: string): string;
  overLimitCount(): number;
  /** Calls that arrived when the organisation's quota was already used up (0 for a correct client). */
  pastQuotaCount(): number;
  reset(): void;
  close(): Promise<void>;
}
