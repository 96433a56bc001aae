import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';

/** What a CLI reads from: process.stdin, or a stream a test writes. */
export type Input = NodeJS.ReadableStream & { isTTY?: boolean };

/**
 * One line from `input` ('' when it ends first, or on Ctrl-C). `hidden` keeps a typed line off a
 * terminal's screen: the echo goes nowhere.
 *
 * @example
 * const answer = await readLine(process.stdin);
 */
export function readLine(input: Input, hidden = false): Promise<string> {
  const mute = new Writable({ write: (_chunk, _enc, done) => done() });
  const rl = createInterface({ input, output: hidden ? mute : undefined, terminal: hidden && input.isTTY === true });
  return new Promise((resolve) => {
    let line = '';
    rl.once('line', (l) => {
      line = l;
      rl.close();
    });
    rl.once('SIGINT', () => rl.close());
    rl.once('close', () => resolve(line));
  });
}

/**
 * Everything `input` holds until it ends, or one hidden line when it is a terminal: a secret piped
 * in (`printf %s "$KEY" | ...`) or typed without echo.
 *
 * @example
 * const aesKey = (await readSecret(process.stdin)).trim();
 */
export async function readSecret(input: Input): Promise<string> {
  if (input.isTTY) return readLine(input, true);
  let text = '';
  for await (const chunk of input) text += chunk.toString();
  return text;
}
