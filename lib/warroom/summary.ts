import { render, type RenderedMessage } from '../notify/render';
import type { WarRoomCreateRequest } from '../contracts/notifyMessage';
import { messagesFor, type Locale } from '../i18n';

/** Link text safe inside `[...]`. */
const linkText = (s: string): string => s.replace(/([\\[\]])/g, '\\$1');

/**
 * The incident summary the group bot posts in a new war room, in the tenant's locale (default
 * zh-CN): the incident title, a markdown body with the incident link, and a "View in Flashduty"
 * button when the incident has a URL (`sampleActionCard`; `sampleMarkdown` without one).
 *
 * @example
 * renderWarRoomSummary({ incident: { id: 'inc-6621', title: 'DB down', url: 'https://…/6621' }, severity: 'critical' }, 'en')
 * // { msgKey: 'sampleActionCard', msgParam: '{"title":"DB down","text":"### 🚨 DB down\n\n- Incident: [inc-6621](https://…)\n…","singleTitle":"View in Flashduty",…}' }
 */
export function renderWarRoomSummary(msg: Pick<WarRoomCreateRequest, 'incident' | 'severity'>, locale?: Locale): RenderedMessage {
  const t = messagesFor(locale).message.warRoom;
  const { incident } = msg;
  const lines = [
    `### 🚨 ${incident.title}`,
    '',
    `- ${t.incident(incident.url ? `[${linkText(incident.id)}](${incident.url})` : incident.id)}`,
    ...(msg.severity ? [`- ${t.severity[msg.severity]}`] : []),
    '',
    t.opened,
  ];
  return render({ title: incident.title, markdown: lines.join('\n'), ...(incident.url ? { url: incident.url } : {}) }, { locale });
}
