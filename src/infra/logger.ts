import pino, { type Logger, type LoggerOptions } from 'pino';

export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** `auto`: readable lines for a person at a terminal, JSON lines for everything else (files, pipes, log shippers). */
export function prettyLogs(format: LogFormat, stdoutIsTTY: boolean): boolean {
  return format === 'pretty' || (format === 'auto' && stdoutIsTTY);
}

/**
 * The service's logger. Redaction and serializers apply before formatting, so the pretty output hides
 * exactly what the JSON output hides. pino-pretty runs in this thread (a synchronous stream, no worker):
 * lines are written in order and none is lost at exit.
 */
export async function createLogger(
  options: LoggerOptions,
  format: LogFormat,
  stdout: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout,
): Promise<Logger> {
  const tty = stdout.isTTY === true;
  if (!prettyLogs(format, tty)) return pino(options, stdout === process.stdout ? undefined : stdout);
  const { default: pretty } = await import('pino-pretty');
  return pino(
    options,
    pretty({ colorize: tty, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', sync: true, destination: stdout }),
  );
}
