import { plainToInstance } from 'class-transformer';
import { ValidationError, validateSync } from 'class-validator';
import { WorkerCount, workersForThisProcess } from '../cpu-quota';
import { AllConfigType } from './bouncer-config';
import { parseDuration } from './duration';
import { ServeOptions } from './serve-options';

const SHUTDOWN_GRACE_MS = 10_000;

/** Thrown when flags or environment variables don't form a usable configuration; the CLI prints it and exits 2. */
export class InvalidConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'InvalidConfigError';
  }
}

const flagName = (property: string): string =>
  `--${property.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** One line per flag, showing the value as the user gave it rather than as it was converted. */
function describe(error: ValidationError, raw: Record<string, unknown>): string[] {
  const shown = JSON.stringify(raw[error.property]);
  const messages = new Set(Object.values(error.constraints ?? {}));
  return [...messages].map(
    (message) => `${flagName(error.property)} ${message}${message.includes(shown) ? '' : ` (got ${shown})`}`,
  );
}

/** What a default depends on beyond the options; tests give their own. */
export interface ConfigDefaults {
  /** The worker count when `--workers` is not given: read from the cgroup only then. */
  readonly workers: () => WorkerCount;
}

const THIS_PROCESS: ConfigDefaults = { workers: workersForThisProcess };

/**
 * Validates raw `serve` options once, at boot, and maps them to the typed configuration.
 * Works outside Nest's DI, so the CLI and the container healthcheck share it.
 */
export function resolveBouncerConfig(
  raw: Partial<Record<keyof ServeOptions, unknown>>,
  defaults: ConfigDefaults = THIS_PROCESS,
): AllConfigType {
  const defined = Object.fromEntries(Object.entries(raw).filter(([, value]) => value !== undefined));
  const options = Object.assign(new ServeOptions(), plainToInstance(ServeOptions, defined));
  const problems = validateSync(options, { forbidUnknownValues: false, stopAtFirstError: true }).flatMap(
    (e) => describe(e, defined),
  );

  if ((options.cert === undefined) !== (options.key === undefined)) {
    const [given, missing] = options.cert === undefined ? ['--key', '--cert'] : ['--cert', '--key'];
    const value = JSON.stringify(options.cert ?? options.key);
    problems.push(`--cert and --key must be given together (got ${given} ${value} and no ${missing})`);
  }
  if (options.healthPort !== undefined && options.healthPort === options.port) {
    problems.push(`--health-port must differ from --port (both are ${options.port})`);
  }
  if (problems.length > 0) throw new InvalidConfigError(problems);
  const workers: WorkerCount =
    options.workers === undefined
      ? defaults.workers()
      : { workers: options.workers, reason: 'set by --workers or BOUNCER_WORKERS' };

  return {
    server: {
      host: options.host,
      port: options.port,
      healthPort: options.healthPort,
      shutdownGraceMs: SHUTDOWN_GRACE_MS,
      workers: workers.workers,
      workersReason: workers.reason,
    },
    tls: {
      certificatePath: options.cert,
      keyPath: options.key,
      clientCaPath: options.clientCa,
      expiryWarningMs: parseDuration(options.certificateExpiryWarning)!,
    },
    policy: { path: options.policy },
    log: { level: options.logLevel, format: options.logFormat },
    ledger: { dir: options.ledgerDir, keyFile: options.ledgerKeyFile },
  };
}
