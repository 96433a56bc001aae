import { randomUUID } from 'node:crypto';
import type { DingTalkClient } from './client';
import { DingTalkError, type DingTalkResult } from './errors';
import { logger } from '../log';
import { acquireRefreshLease, readToken, releaseRefreshLease, writeToken, type StoredToken } from '../store/tokens';
import type { Table } from '../store/table';
import { throughGate } from './throughGate';
import type { CallGate } from './callGate';

/** An app's credentials and whom it belongs to (from the tenant record). */
export interface AppCredentials {
  tenantId: string;
  corpId: string;
  clientId: string;
  clientSecret: string;
}

/** Refresh this long before DingTalk's expiry. */
export const REFRESH_AHEAD_MS = 10 * 60_000;
/** A token with less left than this is not handed out any more. */
export const MIN_VALID_MS = 60_000;
/** How long a refresher holds the lease (a crashed refresher blocks others at most this long). */
export const REFRESH_LEASE_MS = 10_000;

export interface AccessTokensDeps {
  table: Table;
  client: DingTalkClient;
  gate: CallGate;
  /** Epoch ms (injectable). */
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** How long to wait for another instance's refresh when there is no usable token (default 3 s). */
  waitMs?: number;
  /** Poll interval while waiting (default 150 ms). */
  pollMs?: number;
}

/**
 * Access tokens per app: memory, then DynamoDB, then the token endpoint. Refreshed
 * {@link REFRESH_AHEAD_MS} before expiry by one instance at a time (a lease item); the others keep
 * using the still-valid token, or wait briefly when there is none. Never a token call per message.
 *
 * @example
 * const tokens = new AccessTokens({ table, client, gate, now: Date.now, sleep });
 * const token = await tokens.get(app);
 * // DingTalk refused it (InvalidAuthentication):
 * const fresh = await tokens.refresh(app, token);
 */
export class AccessTokens {
  private readonly memory = new Map<string, StoredToken>();
  private readonly inFlight = new Map<string, Promise<string>>();
  private readonly owner = randomUUID();

  constructor(private readonly deps: AccessTokensDeps) {}

  /** A token valid for a while yet. Throws {@link DingTalkError} when none can be had. */
  async get(app: AppCredentials): Promise<string> {
    const m = this.memory.get(app.clientId);
    if (m && m.expiresAtMs - this.deps.now() > REFRESH_AHEAD_MS) return m.accessToken;
    return this.once(app, undefined);
  }

  /** A token other than `stale`, which DingTalk just refused. */
  async refresh(app: AppCredentials, stale: string): Promise<string> {
    const m = this.memory.get(app.clientId);
    if (m && m.accessToken !== stale && m.expiresAtMs - this.deps.now() > MIN_VALID_MS) return m.accessToken;
    if (m?.accessToken === stale) this.memory.delete(app.clientId);
    return this.once(app, stale);
  }

  /** Forgets the memory cache (tests; a cold start does the same). */
  clearMemory(): void {
    this.memory.clear();
  }

  /** One load per app (and stale token) at a time in this instance. */
  private once(app: AppCredentials, stale: string | undefined): Promise<string> {
    const k = `${app.clientId}|${stale ?? ''}`;
    let p = this.inFlight.get(k);
    if (!p) {
      p = this.load(app, stale).finally(() => this.inFlight.delete(k));
      this.inFlight.set(k, p);
    }
    return p;
  }

  private remember(app: AppCredentials, t: StoredToken): string {
    this.memory.set(app.clientId, t);
    return t.accessToken;
  }

  private async load(app: AppCredentials, stale: string | undefined): Promise<string> {
    const { table, now: clockNow, sleep } = this.deps;
    const deadline = clockNow() + (this.deps.waitMs ?? 3000);
    for (;;) {
      const now = clockNow();
      const stored = await readToken(table, app.clientId);
      const usable = stored && stored.accessToken !== stale && stored.expiresAtMs - now > MIN_VALID_MS ? stored : undefined;
      if (usable && usable.expiresAtMs - now > REFRESH_AHEAD_MS) return this.remember(app, usable);
      if (await acquireRefreshLease(table, app.clientId, this.owner, now, REFRESH_LEASE_MS)) {
        try {
          return await this.fetchAndStore(app, stale, usable);
        } finally {
          await releaseRefreshLease(table, app.clientId, this.owner);
        }
      }
      // Someone else is refreshing: keep using the still-valid token, or wait for theirs.
      if (usable) return this.remember(app, usable);
      if (clockNow() >= deadline) return this.fetchAndStore(app, stale, undefined);
      await sleep(this.deps.pollMs ?? 150);
    }
  }

  private async fetchAndStore(app: AppCredentials, stale: string | undefined, fallback: StoredToken | undefined): Promise<string> {
    const { table, now, client, gate } = this.deps;
    // Re-read under the lease: the previous holder may have just written a fresh token.
    const again = await readToken(table, app.clientId);
    if (again && again.accessToken !== stale && again.expiresAtMs - now() > REFRESH_AHEAD_MS) return this.remember(app, again);
    const r: DingTalkResult<{ accessToken: string; expireIn: number }> = await throughGate(
      gate,
      { api: 'token', clientId: app.clientId, corpId: app.corpId, tenantId: app.tenantId, counted: false },
      () => client.getAccessToken(app.clientId, app.clientSecret),
    );
    if (r.kind !== 'ok') {
      // The old token still works for a while: better than failing the message.
      if (fallback) {
        logger.warn('token refresh failed, using the current token until it expires', { clientId: app.clientId, code: r.code, kind: r.kind });
        return this.remember(app, fallback);
      }
      throw new DingTalkError(r, 'token');
    }
    const token = { accessToken: r.data.accessToken, expiresAtMs: now() + r.data.expireIn * 1000 };
    await writeToken(table, app.clientId, token, now());
    return this.remember(app, token);
  }
}
