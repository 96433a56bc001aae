import { html, type SafeHtml } from '../homepage/html';

/**
 * Every English text the bridge writes: the homepage and the bridge's own words in DingTalk
 * messages. `zh-CN.ts` has the same keys (its type is this object's), so a text missing in one
 * language fails `tsc`.
 */

const num = (n: number) => new Intl.NumberFormat('en-US').format(n);
const plural = (n: number, one: string, many: string) => `${num(n)} ${n === 1 ? one : many}`;
const rate = (perDay: number) => `At about ${num(Math.round(perDay))} calls a day`;

/** The values the setup steps show, already marked up where they are lists. */
export interface StepValues {
  callback?: string;
  homepage?: string;
  events: SafeHtml;
  permissions: SafeHtml;
  warRoomPermissions: SafeHtml;
}

export const en = {
  home: {
    /** An instant in China time, `YYYY-MM-DD HH:mm` given. */
    time: (minute: string): string => `${minute} (UTC+8)`,
    brand: 'Flashduty × DingTalk',
    titleLinked: 'DingTalk integration status',
    titleNotLinked: 'DingTalk app not linked',
    badgeLinked: 'Linked',
    badgeNotLinked: 'App not linked',
    linkedTo: (tenantId: string): SafeHtml => html`This DingTalk app is linked to Flashduty integration <code>${tenantId}</code>.`,
    coolInstalled: (groups: number): SafeHtml => html`Cool app installed in <strong>${plural(groups, 'group', 'groups')}</strong>.`,
    coolNone: 'Cool app not installed in any group yet: add it to a group chat so alerts can reach it.',
    mismatch: (requestCorpId: string, tenantId: string, linkedCorpId: string): SafeHtml =>
      html`This DingTalk organisation (<code>${requestCorpId}</code>) is not the one linked to Flashduty integration <code>${tenantId}</code>, which is linked to <code>${linkedCorpId}</code>.`,
    mismatchFix: "If this organisation should receive the alerts, put its CorpId and its app's credentials in the Flashduty integration (steps below).",
    unknown: (tenantId: string): SafeHtml =>
      html`No Flashduty integration <code>${tenantId}</code> is linked here: the integration was never saved, was deleted, or the homepage URL is wrong.`,
    unknownFix: 'Follow the steps below, then open this page again from DingTalk.',
    org: {
      heading: 'Organisation',
      edition: 'Edition',
      limits: 'Limits',
      editions: { standard: 'Standard', professional: 'Professional', exclusive: 'Exclusive' },
      limitsValue: (monthlyQuota: number, qps: number): string => `${num(monthlyQuota)} calls/month, ${num(qps)} QPS`,
    },
    usage: {
      heading: (month: string): string => `Usage in ${month}`,
      figure: (used: number, quota: number, percent: string): string => `${num(used)} / ${num(quota)} calls · ${percent}`,
      meterLabel: 'calls used this month',
      remaining: (remaining: number, reserve: number): string => `${num(remaining)} left, of which ${num(reserve)} are kept for critical alerts.`,
      exhausted: 'DingTalk reported the monthly quota as used up: messages are held until the 1st.',
      observed: (limit: number, quota: number): string =>
        `DingTalk's limit for this organisation is ${num(limit)} calls, below the configured ${num(quota)}: set the tenant's monthlyQuota to ${num(limit)}.`,
      parked: (n: number): string => `${plural(n, 'message is', 'messages are')} parked until the quota resets.`,
      note: 'Counted per organisation (CorpId); resets on the 1st, 00:00 China time.',
    },
    forecast: {
      none: 'No calls counted yet this month.',
      runsOut: (perDay: number, on: string, reserveOn?: string): string =>
        `${rate(perDay)} the quota runs out on ${on}${reserveOn ? `; non-critical alerts stop on ${reserveOn}` : ''}.`,
      reserveReached: (perDay: number, on: string): string => `${rate(perDay)} non-critical alerts stop on ${on}; critical ones still use the reserve.`,
      lasts: (perDay: number): string => `${rate(perDay)} the quota lasts the month.`,
    },
    groups: {
      heading: 'Groups with the cool app',
      unnamed: (shortId: string): SafeHtml => html`Unnamed group <code>${shortId}</code>`,
      since: (time: string): string => `since ${time}`,
      sinceUnknown: 'install time unknown',
      more: (n: number): string => `and ${plural(n, 'more group', 'more groups')}.`,
      moreUnread: (n: number): string => `This page reads the first ${n} groups only: there are more.`,
      none: "None yet. In a DingTalk group chat, add this app's cool app; the group appears here once DingTalk reports the install.",
    },
    steps: {
      checklist: 'Setup checklist',
      fixHeading: 'Fix “app not linked”',
      /** The events to subscribe to, as the DingTalk console names them. */
      events: ['Group chat name is changed', 'Install the cool application in the group', 'Uninstall the cool application in the group'],
      separator: ', ',
      list: (v: StepValues): SafeHtml[] => {
        const here = (url?: string) => (url ? html` (for this integration: <code>${url}</code>)` : '');
        return [
          html`In the DingTalk developer console, copy your organisation's <strong>CorpId</strong> and fill it in the Flashduty DingTalk integration form.`,
          html`Open your internal app and copy its <strong>AgentId</strong>, <strong>Client ID</strong> and <strong>Client Secret</strong> into the same form.`,
          html`Under <strong>Event Subscription</strong>, choose <strong>HTTP Push</strong>, generate an <strong>Encryption aes_key</strong> and a <strong>Signature Token</strong>, copy both into the form and click <strong>Save</strong> in Flashduty.`,
          html`Set the <strong>Event Subscription Request URL</strong> to the one in the Flashduty integration details${here(v.callback)}, then save.`,
          html`Subscribe to the events ${v.events}, then save.`,
          html`Set the <strong>Application Homepage URL</strong> and <strong>PC Homepage URL</strong> to the homepage URL in the Flashduty integration details${here(v.homepage)}, then save.`,
          html`Grant the permissions ${v.permissions}; for War Room also ${v.warRoomPermissions}.`,
          html`Set the app's <strong>Visible Scope</strong> to <strong>all employees</strong> and publish the version.`,
          html`Add the app's cool app to each group chat that should receive alerts; the group shows up on this page once DingTalk reports the install.`,
        ];
      },
    },
    updated: (time: string): string => `Updated ${time}`,
    error: {
      heading: 'Something went wrong',
      title: 'Error',
      badge: (status: number): string => `Error ${status}`,
      retry: 'Reload the page in a minute. If it keeps failing, contact your Flashduty administrator.',
      loadFailed: 'The status page could not be loaded.',
    },
  },
  message: {
    /** The button for a lone `url`, and the link after a truncated body. */
    viewInFlashduty: 'View in Flashduty',
    warRoom: {
      incident: (ref: string): string => `Incident: ${ref}`,
      severity: { critical: 'Severity: Critical', warning: 'Severity: Warning', info: 'Severity: Info' },
      opened: 'This war room was opened by Flashduty for the incident: coordinate the response here.',
    },
    /** An incident card's status line (docs/two-way.md, "Cards"); `time` in China time. */
    card: {
      triggered: 'Triggered',
      acknowledged: (name?: string): string => (name ? `Acknowledged by ${name}` : 'Acknowledged'),
      snoozed: (time?: string, name?: string): string => `Snoozed${time ? ` until ${time}` : ''}${name ? ` by ${name}` : ''}`,
      closed: (name?: string): string => (name ? `Closed by ${name}` : 'Closed'),
      time: (minute: string): string => `${minute} (UTC+8)`,
    },
  },
  /** The private `notice` answering a card button press, shown to the presser only (docs/two-way.md). */
  press: {
    acting: { ack: 'Acknowledging…', close: 'Closing…', snooze: (minutes: number): string => `Snoozing for ${minutes % 60 ? `${minutes} min` : `${minutes / 60} h`}…` },
    unlinked: 'Your DingTalk account is not linked to Flashduty yet: open the link page Flashduty sent you once, inside DingTalk, then press again.',
    closed: 'This incident is already closed: nothing to do.',
  },
  /** The link page (docs/two-way.md, "Linking"); its script shows the last six. */
  link: {
    title: 'Link DingTalk to Flashduty',
    intro: (memberId: string): SafeHtml => html`Linking your DingTalk account to Flashduty member <code>${memberId}</code>, so you can act on incidents from DingTalk.`,
    expires: (time: string): string => `This link is valid until ${time}.`,
    noScript: 'This page needs JavaScript, and must be opened inside the DingTalk app.',
    working: 'Asking DingTalk who you are…',
    done: 'Linked: {name} is now your DingTalk account in Flashduty.',
    outside: 'Open this link inside the DingTalk app: it cannot sign you in from a browser.',
    refused: 'DingTalk did not accept the sign-in: open the link again from DingTalk.',
    failed: 'Linking failed. Open the link again in a minute; if it keeps failing, ask your Flashduty administrator.',
    invalid: 'This link is not valid: ask Flashduty for a new one.',
    expired: 'This link has expired: ask Flashduty for a new one.',
    used: 'This link was already used: ask Flashduty for a new one.',
    unknown: 'No Flashduty integration is set up under this link.',
    /** On the homepage, opened inside DingTalk. */
    homeHint: 'To act on incidents from DingTalk, link your Flashduty account: open the link Flashduty sent you.',
  },
};

/** The texts of one language: {@link en}'s shape. */
export type Messages = typeof en;
