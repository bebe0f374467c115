/**
 * How a command ends: exit code 2 for a usage error (unknown subcommand or option, a bad option
 * value), 1 for a runtime failure (configuration, Redis, Salesforce, the model), 0 for success.
 * A failure prints one readable paragraph: code, what went wrong, what to do.
 */
import { isAppError } from '../core/errors.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A command line that cannot be run as given; `usage` is the command's usage text. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Node's `util.parseArgs` errors: unknown options, missing option values, stray positionals. */
function isParseArgsError(error: unknown): error is Error & { code: string } {
  return error instanceof Error && typeof (error as { code?: unknown }).code === 'string' && (error as unknown as { code: string }).code.startsWith('ERR_PARSE_ARGS_');
}

/** The closest of `candidates` to `word`, when it is close enough to be a likely typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const distance = (a: string, b: string) => {
    const row = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
      let prev = row[0]!;
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const next = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
        prev = row[j]!;
        row[j] = next;
      }
    }
    return row[b.length]!;
  };
  let best: { word: string; d: number } | undefined;
  for (const c of candidates) {
    const d = distance(word, c);
    if (!best || d < best.d) best = { word: c, d };
  }
  return best && best.d <= Math.max(1, Math.floor(best.word.length / 3)) ? best.word : undefined;
}

/** A parseArgs error as a usage error, with a "did you mean" taken from the options in `usage`. */
export function asUsageError(error: unknown, usage: string): UsageError | undefined {
  if (error instanceof UsageError) return error.usage ? error : new UsageError(error.message, usage);
  if (!isParseArgsError(error)) return undefined;
  const option = /'(-[^']*)'/.exec(error.message)?.[1];
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) {
    const known = [...new Set(usage.match(/--[a-z][a-z0-9-]*/g) ?? [])];
    const guess = closest(option, known);
    return new UsageError(`unknown option ${option}${guess ? ` (did you mean ${guess}?)` : ''}`, usage);
  }
  if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') return new UsageError(error.message.replace(/\.$/, ''), usage);
  if (error.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return new UsageError(`unexpected argument ${/'([^']*)'/.exec(error.message)?.[1] ?? ''}`.trim(), usage);
  return new UsageError(error.message, usage);
}

/** A number option: whole, within bounds, or a usage error naming the option. */
export function numberOption(name: string, raw: string | undefined, { min = 0, max = Number.MAX_SAFE_INTEGER, integer = true } = {}): number {
  const n = Number(raw);
  if (raw === undefined || raw.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
    throw new UsageError(`--${name} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max === Number.MAX_SAFE_INTEGER ? 'any' : max}, got "${raw ?? ''}"`);
  }
  return n;
}

/** One readable paragraph for an error that ends a command: code, message and what to do. */
export function formatFatal(error: unknown): string {
  if (isAppError(error)) return `churn-worker: [${error.code}] ${error.message}`;
  if (error instanceof UsageError) return `churn-worker: ${error.message}${error.usage ? `\n\n${error.usage}` : ''}`;
  if (error instanceof Error) return `churn-worker: ${error.stack ?? error.message}`;
  return `churn-worker: ${String(error)}`;
}

export function exitCodeFor(error: unknown): number {
  return error instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
}
