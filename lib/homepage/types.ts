import type { UsageReport } from '../quota/usage';
import type { Edition } from '../contracts/tenant';
import type { Locale } from '../i18n';

/**
 * What the homepage shows, and nothing more: the view model carries no credential field, so the
 * renderer cannot print a secret even by mistake.
 */

/** `linked`: the tenant record exists (with its credentials). `unknown_tenant`: no record.
 * `corp_mismatch`: linked, but DingTalk opened the page from another organisation (`?corpId=`). */
export type LinkState = 'linked' | 'unknown_tenant' | 'corp_mismatch';

/** The organisation and app the integration is linked to (public identifiers only). */
export interface OrgView {
  corpId: string;
  agentId: string;
  clientId: string;
  edition: Edition;
  monthlyQuota: number;
  qps: number;
}

/** A group chat with the cool app installed. */
export interface GroupView {
  openConversationId: string;
  title: string;
  /** Epoch ms of the install, when known. */
  installedAt?: number;
}

/** This China-time month's DingTalk API calls for the organisation: lib/delivery/usage.ts's report. */
export type UsageView = Omit<UsageReport, 'corpId'>;

/** Where DingTalk should point, as seen from this request (for the setup steps). */
export interface PublicUrls {
  homepage: string;
  callback: string;
}

/** Groups one view reads at most (one Query page of this Limit): the page says when there are more. */
export const GROUPS_READ = 100;

export interface HomeStatus {
  tenantId: string;
  state: LinkState;
  org?: OrgView;
  /** The `corpId` DingTalk appended, when it did. */
  requestCorpId?: string;
  /** Groups with the cool app installed (empty unless linked). */
  groups: GroupView[];
  /** More installed groups exist than are listed. */
  moreGroups: number;
  /** The page read only the first {@link GROUPS_READ} groups: there are more than it counted. */
  moreUnread?: boolean;
  usage?: UsageView;
  urls?: PublicUrls;
  /** Epoch ms the page was built at. */
  now: number;
}

/** A rendered page: HTTP status, the document's language and the HTML document. */
export interface Page {
  statusCode: number;
  lang: Locale;
  html: string;
}
