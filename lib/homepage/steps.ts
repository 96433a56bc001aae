import { html, type SafeHtml } from './html';
import type { PublicUrls } from './types';

/** DingTalk permission codes the app needs; the war-room ones only for the War Room feature. */
export const PERMISSIONS = ['qyapi_chat_manage', 'qyapi_robot_sendmsg'] as const;
export const WAR_ROOM_PERMISSIONS = ['qyapi_chat_read', 'qyapi_chat_base_read', 'qyapi_get_member_by_mobile'] as const;

/** The events the app subscribes to, as the DingTalk console names them. */
export const EVENTS = ['Group chat name is changed', 'Install the cool application in the group', 'Uninstall the cool application in the group'] as const;

const codes = (list: readonly string[]) => list.map((c, i) => html`${i ? ', ' : ''}<code>${c}</code>`);
const quoted = (list: readonly string[]) => list.map((c, i) => html`${i ? ', ' : ''}<q>${c}</q>`);

/**
 * The fix for "app not linked": the setup steps of the DingTalk integration guide, in order, with
 * this integration's URLs filled in when the request tells us where we are served.
 *
 * @example
 * html`<ol class="steps">${setupSteps(status.urls)}</ol>`
 */
export function setupSteps(urls?: PublicUrls): SafeHtml[] {
  const callback = urls ? html` (for this integration: <code>${urls.callback}</code>)` : '';
  const homepage = urls ? html` (for this integration: <code>${urls.homepage}</code>)` : '';
  return [
    html`In the DingTalk developer console, copy your organisation's <strong>CorpId</strong> and fill it in the Flashduty DingTalk integration form.`,
    html`Open your internal app and copy its <strong>AgentId</strong>, <strong>Client ID</strong> and <strong>Client Secret</strong> into the same form.`,
    html`Under <strong>Event Subscription</strong>, choose <strong>HTTP Push</strong>, generate an <strong>Encryption aes_key</strong> and a <strong>Signature Token</strong>, copy both into the form and click <strong>Save</strong> in Flashduty.`,
    html`Set the <strong>Event Subscription Request URL</strong> to the one in the Flashduty integration details${callback}, then save.`,
    html`Subscribe to the events ${quoted(EVENTS)}, then save.`,
    html`Set the <strong>Application Homepage URL</strong> and <strong>PC Homepage URL</strong> to the homepage URL in the Flashduty integration details${homepage}, then save.`,
    html`Grant the permissions ${codes(PERMISSIONS)}; for War Room also ${codes(WAR_ROOM_PERMISSIONS)}.`,
    html`Set the app's <strong>Visible Scope</strong> to <strong>all employees</strong> and publish the version.`,
    html`Add the app's cool app to each group chat that should receive alerts; the group shows up on this page once DingTalk reports the install.`,
  ];
}
