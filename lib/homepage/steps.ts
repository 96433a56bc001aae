import { messagesFor, type Locale } from '../i18n';
import { html, type SafeHtml } from './html';
import type { PublicUrls } from './types';

/** DingTalk permission codes the app needs; the war-room ones only for the War Room feature. */
export const PERMISSIONS = ['qyapi_chat_manage', 'qyapi_robot_sendmsg'] as const;
export const WAR_ROOM_PERMISSIONS = ['qyapi_chat_read', 'qyapi_chat_base_read', 'qyapi_get_member_by_mobile'] as const;

const joined = (list: readonly string[], separator: string, mark: (item: string) => SafeHtml) => list.map((item, i) => html`${i ? separator : ''}${mark(item)}`);

/**
 * The fix for "app not linked": the setup steps of the DingTalk integration guide, in order, in
 * `locale`, with this integration's URLs filled in when the request tells us where we are served.
 *
 * @example
 * html`<ol class="steps">${setupSteps(status.urls, 'zh-CN')}</ol>`
 */
export function setupSteps(urls: PublicUrls | undefined, locale: Locale): SafeHtml[] {
  const { steps } = messagesFor(locale).home;
  const codes = (list: readonly string[]) => html`${joined(list, steps.separator, (c) => html`<code>${c}</code>`)}`;
  return steps.list({
    callback: urls?.callback,
    homepage: urls?.homepage,
    events: html`${joined(steps.events, steps.separator, (e) => html`<q>${e}</q>`)}`,
    permissions: codes(PERMISSIONS),
    warRoomPermissions: codes(WAR_ROOM_PERMISSIONS),
  });
}
