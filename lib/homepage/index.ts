export { escapeHtml, html, raw, SafeHtml, type Interpolation } from './html';
export { homePage, publicUrls } from './page';
export { chinaTime, layout, renderError, renderHome } from './render';
export { CONTENT_SECURITY_POLICY, htmlErrors, htmlResponse, viewerLocale } from './response';
export {
  buildStatus,
  installedGroups,
  loadStatus,
  MAX_GROUPS_SHOWN,
  requestedCorpId,
  tableSources,
  type GroupRecord,
  type StatusRequest,
  type StatusSources,
} from './status';
export { PERMISSIONS, setupSteps, WAR_ROOM_PERMISSIONS } from './steps';
export { STYLE, STYLE_HASH } from './style';
export type * from './types';
