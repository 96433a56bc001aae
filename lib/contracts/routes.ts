/**
 * The HTTP routes of the bridge (docs/DESIGN.md, "Contracts"): API Gateway's HTTP API serves them in
 * AWS (infra/stack.ts), the local HTTP API in `npm start` (infra/local), and the CLI builds URLs
 * from them. A route is `METHOD path`, path parameters in braces as API Gateway writes them.
 */

export interface RouteSpec {
  readonly method: 'GET' | 'POST';
  readonly path: string;
}

/** DingTalk's HTTP-push event subscription (the app's "Request URL"). */
export const CALLBACK_ROUTE = { method: 'POST', path: '/dingtalk/{tenantId}/callback' } as const satisfies RouteSpec;

/** The app's homepage inside DingTalk (DingTalk may append `?corpId=`). */
export const HOMEPAGE_ROUTE = { method: 'GET', path: '/dingtalk/{tenantId}/home' } as const satisfies RouteSpec;

/** DingTalk's card callback: a button pressed on an interactive card (docs/two-way.md, "The card callback"). */
export const CARD_CALLBACK_ROUTE = { method: 'POST', path: '/card/{tenantId}' } as const satisfies RouteSpec;
/**
 * A member's link page (docs/two-way.md, "Linking"): GET shows it inside DingTalk, POST takes the
 * auth code the page got from `dd.requestAuthCode`. Both on the link function.
 */
export const LINK_PAGE_ROUTE = { method: 'GET', path: '/link/{tenantId}' } as const satisfies RouteSpec;
export const LINK_POST_ROUTE = { method: 'POST', path: '/link/{tenantId}' } as const satisfies RouteSpec;

/** The route's path for one tenant, e.g. `/dingtalk/acme/callback`. */
export const pathFor = (route: RouteSpec, tenantId: string): string => route.path.replace('{tenantId}', encodeURIComponent(tenantId));

/** Largest callback body accepted (bytes). DingTalk's encrypted events are a few KiB. */
export const MAX_CALLBACK_BODY_BYTES = 64 * 1024;

/** Largest link POST body accepted (bytes): an auth code and the link's three parameters. */
export const MAX_LINK_BODY_BYTES = 4 * 1024;
