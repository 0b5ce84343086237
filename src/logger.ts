/** One JSON object per line on stdout/stderr, so logs stay machine-readable. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export function createLogger(options: { quiet?: boolean } = {}): Logger {
  const write = (stream: NodeJS.WriteStream, level: string, message: string, fields?: Record<string, unknown>) => {
    stream.write(`${JSON.stringify({ time: new Date().toISOString(), level, message, ...fields })}\n`);
  };
  return {
    info: (message, fields) => {
      if (!options.quiet) write(process.stdout, "info", message, fields);
    },
    error: (message, fields) => write(process.stderr, "error", message, fields),
  };
}
