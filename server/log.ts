/**
 * Structured logs: one JSON object per line. Events carry ids, rooms and error codes,
 * never SDP or chat text (the server carries no chat text anyway).
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export const LOG_LEVELS = Object.keys(RANK) as LogLevel[];

export interface LogEntry {
  readonly event: string;
  readonly level?: Exclude<LogLevel, 'silent'>;
  readonly [key: string]: unknown;
}

export type Logger = (entry: LogEntry) => void;

export const silentLogger: Logger = () => {};

/** A logger writing JSON lines at or above `level` to `write` (stderr by default). */
export function jsonLogger(level: LogLevel, write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  const min = RANK[level];
  return (entry) => {
    const entryLevel = entry.level ?? 'info';
    if (RANK[entryLevel] < min) return;
    write(`${JSON.stringify({ time: new Date().toISOString(), ...entry, level: entryLevel })}\n`);
  };
}

export function isLogLevel(value: string): value is LogLevel {
  return Object.prototype.hasOwnProperty.call(RANK, value);
}
