/**
 * A local simulator's calls as the local stack prints them: every 2 s, one line for each call
 * received since (`line` says what; never a secret). `tick` runs on each round too (an app sync).
 * Returns the function that stops it.
 *
 * @example
 * const stop = printCalls(sim.calls, (c) => `[sim] ${c.api} status=${c.status}`, console.log);
 */
export function printCalls<C>(calls: readonly C[], line: (call: C) => string, print?: (line: string) => void, tick?: () => void): () => void {
  let printed = 0;
  const timer = setInterval(() => {
    tick?.();
    if (!print) return;
    for (; printed < calls.length; printed++) print(line(calls[printed]));
  }, 2000);
  timer.unref();
  return () => clearInterval(timer);
}
