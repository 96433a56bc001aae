import type { z } from 'zod';

/**
 * Zod issues as one line a user can act on: `path: message; path: message`. Every boundary (env,
 * queue messages, tenant records) reports invalid input this way.
 *
 * @example
 * formatIssues(schema.safeParse(input).error!.issues) // 'to.userIds.0: Too small: expected string to have >=1 characters'
 */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issueList(issues).join('; ');
}

/** The same issues, one string each. */
export function issueList(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((i) => (i.path.length ? `${i.path.map(String).join('.')}: ${i.message}` : i.message));
}
