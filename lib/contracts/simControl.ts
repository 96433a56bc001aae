/**
 * The local simulators' control surface (docs/two-way.md): what `npm start` serves on loopback so
 * that a person (through `npm run sim`) can do what only a DingTalk user could: see the cards, press
 * a button, get an auth code, look at a group, and see what the Flashduty simulator recorded.
 * Local-only: it is no part of the bridge or of DingTalk's API, the deployed stack has nothing like it,
 * and its server answers loopback requests only. Shared by the server (infra/local/simControl.ts)
 * and the CLI (lib/cli/sim.ts).
 */

/** The variable `npm start` writes to `.local/stack.env` with the control server's base URL. */
export const SIM_CONTROL_VARIABLE = 'SIMULATOR_CONTROL_URL';

/** Every path starts with it: a prefix neither DingTalk nor the bridge ever uses. */
const SIM_CONTROL_PREFIX = '/_sim';

/** The endpoints, relative to the base URL. GETs take query parameters, POSTs a JSON body. */
export const SIM_CONTROL_PATHS = {
  /** GET: this list. */
  index: `${SIM_CONTROL_PREFIX}`,
  /** GET [?outTrackId=]: the DingTalk simulator's cards ({@link SimControlCard}[]). */
  cards: `${SIM_CONTROL_PREFIX}/dingtalk/cards`,
  /** POST {@link SimControlPress}: a user presses a button; answers {@link SimControlPressResult}. */
  press: `${SIM_CONTROL_PREFIX}/dingtalk/press`,
  /** POST {clientId, userId}: the auth code `dd.requestAuthCode` would hand that app's page; answers {code}. */
  authCode: `${SIM_CONTROL_PREFIX}/dingtalk/auth-code`,
  /** GET ?corpId=&openConversationId=: {members, disbanded}. */
  group: `${SIM_CONTROL_PREFIX}/dingtalk/group`,
  /** GET: the Flashduty simulator's recorded actions. */
  flashdutyActions: `${SIM_CONTROL_PREFIX}/flashduty/actions`,
  /** GET ?incidentId=[&accountId=]: {accountId, incident} (its progress, ack and close times). */
  flashdutyIncident: `${SIM_CONTROL_PREFIX}/flashduty/incident`,
} as const;

/** The card buttons' actions (docs/two-way.md, "Cards"). */
export const SIM_PRESS_ACTIONS = ['ack', 'close', 'snooze'] as const;
export type SimPressAction = (typeof SIM_PRESS_ACTIONS)[number];

export interface SimControlPress {
  outTrackId: string;
  userId: string;
  action: SimPressAction;
  /** Snooze only (the template's buttons offer 120, 240 and 720). */
  minutes?: number;
}

/** DingTalk's callback to the bridge and the bridge's answer, as the simulator got it. */
export interface SimControlPressResult {
  /** Where the callback went. */
  url: string;
  /** The bridge's HTTP status; 0 when it did not answer within DingTalk's 2 s. */
  status: number;
  /** The bridge's answer body (JSON when it was JSON). */
  answer: unknown;
}

export interface SimControlCard {
  outTrackId: string;
  clientId: string;
  corpId: string;
  cardTemplateId: string;
  /** How many times the card was updated (PUT). */
  updates: number;
  spaces: Array<{ spaceType: string; spaceId: string; success: boolean; errorMsg?: string }>;
  /** The card's public data. */
  cardData: Record<string, string>;
  /** What each user who can see the card sees: public data, then theirs (a press's `notice`, say). */
  seenBy: Record<string, Record<string, string>>;
}

/** Every refusal's body. */
export interface SimControlError {
  error: string;
}
