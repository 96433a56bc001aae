/**
 * CloudWatch EMF records as Powertools metrics print them (one JSON line each on stdout). A test
 * file that reads them imports this module first: it switches metrics on for that file whatever
 * the environment says (jest gives each test file its own process.env).
 */

/**
 * Lets Powertools metrics made from now on print (each instance reads the switch when it is made;
 * the local stack's environment turns them off).
 *
 * @example
 * beforeAll(metricsOn);
 */
export function metricsOn(): void {
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  delete process.env.POWERTOOLS_DEV;
}
metricsOn();

/** One EMF record: its metadata under `_aws`, dimensions and metric values at the top level. */
export interface EmfRecord {
  _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }> };
  [key: string]: unknown;
}

/**
 * The EMF records printed to stdout while `fn` runs; other output passes through.
 *
 * @example
 * const printed = await emfPrinted(() => handler(event, context));
 */
export async function emfPrinted(fn: () => Promise<unknown>): Promise<EmfRecord[]> {
  const records: EmfRecord[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    const emf = text.split('\n').filter((line) => line.startsWith('{"_aws"'));
    if (!emf.length) return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    for (const line of emf) records.push(JSON.parse(line) as EmfRecord);
    return true;
  }) as typeof process.stdout.write);
  try {
    await fn();
  } finally {
    spy.mockRestore();
  }
  return records;
}

/** The records whose top-level fields include `fields` (e.g. a dimension's value). */
export const emfRecords = (records: readonly EmfRecord[], fields: Record<string, unknown>): EmfRecord[] =>
  records.filter((r) => Object.entries(fields).every(([k, v]) => r[k] === v));
