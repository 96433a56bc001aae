/**
 * The checks and state changes of the Flashduty simulator, each from docs/flashduty-api.md (the
 * section is in its comment). Refusals are thrown as {@link FdRejection} and answered with
 * Flashduty's error envelope.
 */

/** Error codes and their HTTP statuses (docs/flashduty-api.md §1). */
export const FD_ERRORS = {
  InvalidParameter: 400,
  InvalidContentType: 400,
  MethodNotAllowed: 400,
  Unauthorized: 401,
  AccessDenied: 403,
  RouteNotFound: 404,
  RequestTooFrequently: 429,
  InternalError: 500,
} as const;
export type FdErrorCode = keyof typeof FD_ERRORS;

/** §3–§6: at most 100 incident ids per call. */
export const MAX_INCIDENT_IDS = 100;
/** §5: snooze minutes, greater than 0 and at most 1440. */
export const MIN_SNOOZE_MINUTES = 1;
export const MAX_SNOOZE_MINUTES = 1440;
/** §8: no maximum is documented; the simulator takes the strict reading, 100 like every other id list. */
export const MAX_PERSON_IDS = 100;
/** §2: per account, 50 requests a second and 1,000 a minute. */
export const DEFAULT_RATE_LIMITS = { perSecond: 50, perMinute: 1000 } as const;

export type Progress = 'Triggered' | 'Processing' | 'Closed';
export type FdApi = 'ack' | 'resolve' | 'snooze' | 'comment' | 'info' | 'personInfos';
export type FdWriteApi = Extract<FdApi, 'ack' | 'resolve' | 'snooze' | 'comment'>;

/** The routes the bridge calls (§3–§8); `write` needs the Incidents Manage permission (§3–§6). */
export const FD_ROUTES: Readonly<Record<string, { api: FdApi; write: boolean }>> = {
  '/incident/ack': { api: 'ack', write: true },
  '/incident/resolve': { api: 'resolve', write: true },
  '/incident/snooze': { api: 'snooze', write: true },
  '/incident/comment': { api: 'comment', write: true },
  '/incident/info': { api: 'info', write: false },
  '/person/infos': { api: 'personInfos', write: false },
};

export class FdRejection extends Error {
  constructor(readonly code: FdErrorCode, message: string) { super(message); }
}
const invalid = (message: string): FdRejection => new FdRejection('InvalidParameter', message);

export type Body = Record<string, unknown>;
export const isObject = (v: unknown): v is Body => typeof v === 'object' && v !== null && !Array.isArray(v);

/** §0: the body must be `application/json` (a charset parameter is allowed). */
export function checkContentType(header: string | undefined): void {
  const type = (header ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json') throw new FdRejection('InvalidContentType', 'Content-Type must be application/json');
}

/** §9: a body that is empty, not JSON or not an object is a parameter error. */
export function parseBody(raw: string): Body {
  let body: unknown;
  try { body = JSON.parse(raw); } catch { throw invalid('the body is not valid JSON'); }
  if (!isObject(body)) throw invalid('the body must be a JSON object');
  return body;
}

/** §3–§6: `incident_ids`, an Array of 1 to 100 non-empty Strings. */
export function incidentIds(body: Body): string[] {
  const ids = body.incident_ids;
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string' && id.length > 0)) {
    throw invalid('incident_ids must be an array of incident id strings');
  }
  if (ids.length === 0) throw invalid('incident_ids is empty');
  if (ids.length > MAX_INCIDENT_IDS) throw invalid(`at most ${MAX_INCIDENT_IDS} incident_ids per call`);
  return [...new Set(ids as string[])];
}

/** §5: `minutes`, an Integer from 1 to 1440. */
export function snoozeMinutes(body: Body): number {
  const m = body.minutes;
  if (typeof m !== 'number' || !Number.isInteger(m)) throw invalid('minutes must be an integer');
  if (m < MIN_SNOOZE_MINUTES || m > MAX_SNOOZE_MINUTES) {
    throw invalid(`minutes must be greater than 0 and at most ${MAX_SNOOZE_MINUTES}`);
  }
  return m;
}

/** §4, §6: an optional String field. */
export function optionalString(body: Body, field: string): string | undefined {
  const v = body[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalid(`${field} must be a string`);
  return v;
}

/** §6, §7: a required, non-empty String field. */
export function requiredString(body: Body, field: string): string {
  const v = optionalString(body, field);
  if (!v) throw invalid(`${field} is required`);
  return v;
}

/** §6: `mute_reply`, an optional Boolean. */
export function optionalBoolean(body: Body, field: string): boolean | undefined {
  const v = body[field];
  if (v !== undefined && typeof v !== 'boolean') throw invalid(`${field} must be a boolean`);
  return v as boolean | undefined;
}

/** §8: `person_ids`, an Array of 1 to 100 positive Integers. */
export function personIds(body: Body): number[] {
  const ids = body.person_ids;
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'number' && Number.isInteger(id) && id > 0)) {
    throw invalid('person_ids must be an array of member ids (integers)');
  }
  if (ids.length === 0) throw invalid('person_ids is empty');
  if (ids.length > MAX_PERSON_IDS) throw invalid(`at most ${MAX_PERSON_IDS} person_ids per call`);
  return ids as number[];
}

export interface SimResponder { personId: number; assignedAt: number; acknowledgedAt: number }
export interface SimComment { at: number; personId: number; comment: string }
/** An incident as the simulator keeps it (times in Unix seconds, §7). */
export interface SimIncident {
  incidentId: string;
  title: string;
  severity: string;
  progress: Progress;
  ackTime: number;
  closeTime: number;
  closerId: number;
  snoozedBefore: number;
  resolution: string;
  rootCause: string;
  responders: SimResponder[];
  comments: SimComment[];
}

/** §5, §9: a snooze that ran out on an unclosed incident sends it back to Triggered. */
export function settle(inc: SimIncident, nowSec: number): void {
  if (inc.snoozedBefore > 0 && nowSec >= inc.snoozedBefore) {
    inc.snoozedBefore = 0;
    if (inc.progress !== 'Closed') inc.progress = 'Triggered';
  }
}

/** §9: whether the action is allowed on the incident's progress (checked for every id before any change). */
export function checkProgress(api: FdWriteApi, inc: SimIncident): void {
  if ((api === 'ack' || api === 'snooze') && inc.progress === 'Closed') {
    throw invalid(`incident ${inc.incidentId} is closed`); // §9: NOT FOUND in the docs; the strict answer
  }
  if (api === 'snooze' && inc.progress !== 'Processing') {
    throw invalid(`incident ${inc.incidentId} must be acknowledged before it is snoozed`); // §5, §9 (UNVERIFIED)
  }
}

export interface WriteArgs { minutes?: number; resolution?: string; rootCause?: string; comment?: string }

/** §3–§6: applies an accepted write; `actor` is the key's creator (§3: no acting-member field). */
export function apply(api: FdWriteApi, inc: SimIncident, args: WriteArgs, actor: number, nowSec: number): void {
  switch (api) {
    case 'ack': // §3: Triggered → Processing; a repeated ack keeps the progress
      if (inc.progress === 'Triggered') inc.progress = 'Processing';
      if (!inc.ackTime) inc.ackTime = nowSec;
      for (const r of inc.responders) if (r.personId === actor && !r.acknowledgedAt) r.acknowledgedAt = nowSec;
      return;
    case 'resolve': // §4: Closed from any progress; closing again changes nothing
      if (inc.progress === 'Closed') return;
      inc.progress = 'Closed';
      inc.closeTime = nowSec;
      inc.closerId = actor;
      inc.snoozedBefore = 0;
      if (args.resolution !== undefined) inc.resolution = args.resolution;
      if (args.rootCause !== undefined) inc.rootCause = args.rootCause;
      return;
    case 'snooze': // §5: snoozed until now + minutes (a repeat restarts it, §9)
      inc.snoozedBefore = nowSec + (args.minutes ?? 0) * 60;
      return;
    case 'comment': // §6
      inc.comments.push({ at: nowSec, personId: actor, comment: args.comment ?? '' });
      return;
  }
}

/** §7: the incident as `/incident/info` answers it (the fields the bridge reads). */
export function incidentData(inc: SimIncident, accountId: number, consoleUrl: string): Body {
  return {
    incident_id: inc.incidentId,
    account_id: accountId,
    title: inc.title,
    progress: inc.progress,
    incident_severity: inc.severity,
    ack_time: inc.ackTime,
    close_time: inc.closeTime,
    closer_id: inc.closerId,
    snoozed_before: inc.snoozedBefore,
    resolution: inc.resolution,
    root_cause: inc.rootCause,
    responders: inc.responders.map((r) => ({ person_id: r.personId, assigned_at: r.assignedAt, acknowledged_at: r.acknowledgedAt })),
    detail_url: `${consoleUrl}/incident/detail/${inc.incidentId}`,
  };
}
