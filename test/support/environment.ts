import { Console } from 'node:console';
import { Writable } from 'node:stream';
import NodeEnvironment from 'jest-environment-node';
import type { Circus } from '@jest/types';
import { startDynamoDbLocal, type Running } from '../../infra/local/services';

/**
 * Jest's node environment with two changes. Quiet: what a test file prints (the handlers' JSON logs
 * and EMF metrics on stdout/stderr, console calls, the local stack) is kept per test and printed
 * only when that test fails; what is printed outside tests (beforeAll, afterAll, loading the file)
 * only when something in the file failed. With LOG_LEVEL set, everything is printed as it happens.
 * And one DynamoDB Local per jest worker, started for the first test file that asks for it
 * ({@link SharedDynamoDb}) and gone with the worker: each file makes its own table in it.
 */

/** What the environment puts on a test file's global: the worker's DynamoDB Local. */
export interface SharedDynamoDb {
  sharedDynamoDbLocal?: () => Promise<Running>;
}

let dynamoDbLocal: Promise<Running> | undefined;
const sharedDynamoDbLocal = (): Promise<Running> =>
  (dynamoDbLocal ??= startDynamoDbLocal().then((d) => ({ endpoint: d.endpoint, stop: async () => undefined })));

/** The most of one test's output kept: its last 2 MiB. */
const KEEP_CHARS = 2 * 1024 * 1024;

type Write = typeof process.stdout.write;

class Kept {
  private parts: string[] = [];
  private chars = 0;
  private dropped = false;

  add(text: string): void {
    this.parts.push(text);
    this.chars += text.length;
    while (this.chars > KEEP_CHARS && this.parts.length > 1) {
      this.chars -= this.parts.shift()!.length;
      this.dropped = true;
    }
  }

  take(): string {
    const text = (this.dropped ? '[earlier output dropped]\n' : '') + this.parts.join('');
    this.parts = [];
    this.chars = 0;
    this.dropped = false;
    return text;
  }
}

export default class TestEnvironment extends NodeEnvironment {
  private readonly test = new Kept();
  private readonly outside = new Kept();
  private current: Kept = this.outside;
  private failed = false;
  private testsDone = 0;
  private restore: Array<() => void> = [];
  private print: (text: string) => void = () => undefined;

  override async setup(): Promise<void> {
    await super.setup();
    (this.global as SharedDynamoDb).sharedDynamoDbLocal = sharedDynamoDbLocal;
    if (process.env.LOG_LEVEL) return;
    const stderrWrite = process.stderr.write;
    this.print = (text) => void stderrWrite.call(process.stderr, text);
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (this.current.add(chunk.toString('utf8')), done()) });
    this.global.console = new Console({ stdout: sink, stderr: sink });
    for (const stream of [process.stdout, process.stderr]) {
      const own = Object.getOwnPropertyDescriptor(stream, 'write');
      stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
        this.current.add(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
        const done = rest.find((r): r is () => void => typeof r === 'function');
        if (done) process.nextTick(done);
        return true;
      }) as Write;
      this.restore.push(() => (own ? Object.defineProperty(stream, 'write', own) : delete (stream as Partial<typeof stream>).write));
    }
  }

  handleTestEvent(event: Circus.Event): void {
    if (event.name === 'test_start') {
      this.current = this.test;
    } else if (event.name === 'test_done') {
      this.current = this.outside;
      this.testsDone++;
      const text = this.test.take();
      if (event.test.errors.length === 0) return;
      this.failed = true;
      this.show(`output of the failed test "${fullName(event.test)}"`, text);
    } else if (event.name === 'hook_failure') {
      this.failed = true;
    }
  }

  override async teardown(): Promise<void> {
    for (const undo of this.restore.splice(0)) undo();
    if (this.failed || this.testsDone === 0) this.show('output outside tests (loading the file, beforeAll, afterAll)', this.outside.take());
    await super.teardown();
  }

  private show(title: string, text: string): void {
    if (text.trim()) this.print(`\n── ${title} ──\n${text.endsWith('\n') ? text : `${text}\n`}── end ──\n`);
  }
}

function fullName(test: Circus.TestEntry): string {
  const names: string[] = [];
  for (let block: Circus.TestEntry | Circus.DescribeBlock | undefined = test; block && block.name !== 'ROOT_DESCRIBE_BLOCK'; block = block.parent) names.unshift(block.name);
  return names.join(' › ');
}
