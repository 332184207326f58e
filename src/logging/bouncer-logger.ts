import { LoggerService } from '@nestjs/common';
import pino, { DestinationStream, Logger, LoggerOptions } from 'pino';
import { LogConfig } from '../config';

/**
 * Paths that could carry secrets if anyone ever logs the objects they live in. Nothing logs them
 * today; this keeps a future `logger.info({ tls })` from leaking a private key. Exact paths only:
 * wildcards made every log line 8 us slower, and a line is written for every review.
 */
const REDACTED_PATHS = [
  'privateKeyPem',
  'tls.privateKeyPem',
  'key',
  'token',
  'headers.authorization',
  'request.headers.authorization',
];

/** Loaded only when asked for: pino-pretty costs 9 MB of memory that JSON logging never needs. */
function prettyStream(): DestinationStream {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pretty = require('pino-pretty') as typeof import('pino-pretty');
  return pretty({
    sync: true,
    colorize: process.stdout.isTTY,
    ignore: 'pid,hostname,service,worker',
    translateTime: 'SYS:standard',
  });
}

/**
 * pino's isoTime, formatted once per millisecond: a busy server writes several lines in each, and
 * `toISOString` was about a fifth of formatting an audit line. The text is the same.
 */
function isoTimeOncePerMillisecond(): () => string {
  let formattedAt = -1;
  let formatted = '';
  return () => {
    const now = Date.now();
    if (now !== formattedAt) {
      formattedAt = now;
      formatted = `,"time":"${new Date(now).toISOString()}"`;
    }
    return formatted;
  };
}

export function createBouncerLogger(config: LogConfig, destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level: config.level,
    base: { service: 'kube-image-bouncer', pid: process.pid },
    timestamp: isoTimeOncePerMillisecond(),
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  const stream =
    destination ?? (config.format === 'pretty' ? prettyStream() : pino.destination({ dest: 1, sync: false }));
  return pino(options, stream);
}

type PinoLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/**
 * Nest's own bootstrap narration: every module initialized and every route mapped, about 30 lines
 * per process at start (@nestjs/core's InstanceLoader, RoutesResolver, RouterExplorer, and
 * NestFactory/NestApplication's "starting" and "started"). Debug, not info: an operator's info
 * stream says what the bouncer serves and decides, in the lines the bouncer writes itself.
 */
const NEST_BOOTSTRAP_CONTEXTS = new Set([
  'NestFactory',
  'NestApplication',
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
]);

/**
 * Nest's LoggerService on pino: `new Logger(Context).log(...)` anywhere in the app becomes one JSON
 * line with `context`. An object message is merged into the line, so services log structured data.
 */
export class PinoNestLogger implements LoggerService {
  /** A child per context: pino serializes its `context` binding once, not on every line. */
  private readonly byContext = new Map<string, Logger>();

  constructor(readonly pino: Logger) {}

  log(message: unknown, ...optional: unknown[]): void {
    const context = optional.at(-1);
    const bootstrap = typeof context === 'string' && NEST_BOOTSTRAP_CONTEXTS.has(context);
    this.write(bootstrap ? 'debug' : 'info', message, optional);
  }
  error(message: unknown, ...optional: unknown[]): void {
    this.write('error', message, optional);
  }
  warn(message: unknown, ...optional: unknown[]): void {
    this.write('warn', message, optional);
  }
  debug(message: unknown, ...optional: unknown[]): void {
    this.write('debug', message, optional);
  }
  verbose(message: unknown, ...optional: unknown[]): void {
    this.write('trace', message, optional);
  }
  fatal(message: unknown, ...optional: unknown[]): void {
    this.write('fatal', message, optional);
  }

  private write(level: PinoLevel, message: unknown, optional: unknown[]): void {
    if (!this.pino.isLevelEnabled(level)) return;
    // Nest appends the context last, and for errors may put a stack trace before it.
    const context = typeof optional.at(-1) === 'string' ? (optional.at(-1) as string) : undefined;
    const stack =
      level === 'error' && optional.length >= 2 && typeof optional[0] === 'string' ? optional[0] : undefined;
    if (message instanceof Error) {
      this.pino[level]({ context, err: message }, message.message);
    } else if (typeof message === 'object' && message !== null) {
      const { msg, ...fields } = message as { msg?: unknown };
      const text = typeof msg === 'string' ? msg : undefined;
      // The same line either way: a child's bindings come right after the base ones, where the
      // merged `context` would. A message with a `context` of its own keeps the merge, as before.
      if (context === undefined || 'context' in fields) this.pino[level]({ context, ...fields }, text);
      else this.contextLogger(context)[level](fields, text);
    } else {
      this.pino[level]({ context, ...(stack ? { stack } : {}) }, String(message));
    }
  }

  private contextLogger(context: string): Logger {
    let logger = this.byContext.get(context);
    if (logger === undefined) this.byContext.set(context, (logger = this.pino.child({ context })));
    return logger;
  }
}
