import { pino } from "pino";
import pretty from "pino-pretty";

export const logLevels = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof logLevels)[number];

/** `json`: one JSON object per line, for machines; `pretty`: coloured lines for a developer's terminal. */
export const logFormats = ["json", "pretty"] as const;
export type LogFormat = (typeof logFormats)[number];

export type LogFields = Record<string, unknown>;

/** The service's logger: a message first, then the fields that go with it. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** Whether lines of `level` are written; without it, a caller assumes they are. */
  enabled?(level: "debug" | "info" | "warn" | "error"): boolean;
}

export interface LoggerOptions {
  readonly level?: LogLevel;
  readonly format?: LogFormat;
}

/** What a log line's `cause` says of a failure: its message (the logger bounds its length). */
export function causeOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The longest string field logged, in characters: whatever a client sends, a log line stays a few KB. */
export const maxLoggedFieldLength = 4096;

/** `fields` with every string longer than `maxLoggedFieldLength` cut, saying how much was left out. */
function boundedFields(fields: LogFields): LogFields {
  let bounded: LogFields | undefined;
  for (const key in fields) {
    const value = fields[key];
    if (typeof value !== "string" || value.length <= maxLoggedFieldLength) continue;
    bounded ??= { ...fields };
    bounded[key] = `${value.slice(0, maxLoggedFieldLength)}… (${value.length - maxLoggedFieldLength} more characters)`;
  }
  return bounded ?? fields;
}

/**
 * Logs through pino to stdout: in JSON, every line carries `time` (ISO 8601),
 * `level` (its name), `pid`, `hostname`, `message` and the given fields.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const settings = {
    level: options.level ?? "info",
    messageKey: "message",
    timestamp: pino.stdTimeFunctions.isoTime,
    // Level names rather than pino's numbers: readable, and what the lines always carried.
    formatters: { level: (label: string) => ({ level: label }), log: boundedFields },
  };
  // JSON goes out in writes of at most PIPE_BUF (4096) bytes, which reach a
  // pipe whole: workers sharing stdout never interleave parts of lines.
  const destination =
    options.format === "pretty"
      ? // One line per entry, fields inline: a request costs one line of the terminal, not ten.
        pretty({ messageKey: "message", translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname", singleLine: true })
      : pino.destination({ dest: 1, maxWrite: 4096 });
  const logger = pino(settings, destination);
  return {
    debug: (message, fields) => logger.debug(fields, message),
    info: (message, fields) => logger.info(fields, message),
    warn: (message, fields) => logger.warn(fields, message),
    error: (message, fields) => logger.error(fields, message),
    enabled: (level) => logger.isLevelEnabled(level),
  };
}

/**
 * Logs an event that may come in floods (refused or timed-out connections)
 * at most once per `windowMs`: the first at once with `count: 1`, then, at
 * the end of each window that saw more, one line with how many (`count`).
 */
export function createBurstLog(log: Logger, level: "info" | "warn", message: string, windowMs = 10_000): (fields?: LogFields) => void {
  let window: NodeJS.Timeout | undefined;
  let unlogged = 0;
  const endWindow = () => {
    window = undefined;
    if (unlogged === 0) return;
    log[level](message, { count: unlogged, windowMs });
    unlogged = 0;
    window = setTimeout(endWindow, windowMs).unref();
  };
  return (fields) => {
    if (window) {
      unlogged++;
      return;
    }
    log[level](message, { count: 1, ...fields });
    window = setTimeout(endWindow, windowMs).unref();
  };
}
