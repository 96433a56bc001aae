import type { EnvName } from '../contracts/env';
import { BridgeError } from '../errors';
import { createTable, type Table } from '../store/table';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** The environment contract's name of the table (a rename in lib/contracts/env.ts fails to compile here). */
const TABLE_VARIABLE: EnvName = 'TABLE_NAME';

/** Where `npm start` writes the local stack's endpoints (KEY=value lines). */
export const STACK_ENV_FILE = resolve(process.cwd(), '.local/stack.env');

export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*([A-Z0-9_]+)\s*=\s*(.*)\s*$/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

/**
 * Strips `--local` from argv and, when it was given, loads `.local/stack.env` into process.env
 * (so the SDK and our config use the local stack). Throws a clear error when the stack is not running.
 */
export function applyLocalFlag(argv: string[], file = STACK_ENV_FILE): string[] {
  const rest = argv.filter((a) => a !== '--local');
  if (rest.length === argv.length) return argv;
  if (!existsSync(file)) throw new Error(`${file} not found: start the local stack first with "npm start"`);
  Object.assign(process.env, parseEnvFile(readFileSync(file, 'utf8')));
  return rest;
}

/**
 * {@link applyLocalFlag} for a CLI: the remaining arguments, or undefined after printing why the
 * local stack's endpoints could not be loaded.
 *
 * @example
 * const args = localArgs(argv, io); if (!args) return 2;
 */
export function localArgs(argv: string[], io: { err(line: string): void }, file = STACK_ENV_FILE): string[] | undefined {
  try {
    return applyLocalFlag(argv, file);
  } catch (e) {
    io.err((e as Error).message);
    return undefined;
  }
}

/**
 * The table a CLI command works on: the one given (tests), else TABLE_NAME's; undefined after
 * telling the user how to set it.
 *
 * @example
 * const table = cliTable(io); if (!table) return 2;
 */
export function cliTable(io: { table?: Table; err(line: string): void }): Table | undefined {
  if (io.table) return io.table;
  const name = process.env[TABLE_VARIABLE];
  if (name) return createTable(name);
  io.err('TABLE_NAME is not set (use --local for the local stack, or the stack output TableName)');
  return undefined;
}

/**
 * Runs a CLI command and gives its exit code: a typed error (lib/errors.ts) prints its message and
 * exits 2 when it is a usage error, else 1; anything else prints "error: …" and exits 1.
 *
 * @example
 * return exitCodeOf(io, () => cmd(table, rest));
 */
export async function exitCodeOf(io: { err(line: string): void }, run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof BridgeError) {
      io.err(e.message);
      return e.status === 2 ? 2 : 1;
    }
    io.err(`error: ${(e as Error).message}`);
    return 1;
  }
}
