/**
 * The validated, typed configuration of a running bouncer. Built once at boot by
 * `resolveBouncerConfig` and handed to Nest's ConfigModule, so services read it with
 * `configService.get('server', { infer: true })`.
 */
export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  /** Plain-HTTP port for probes; absent means probes are served on the TLS port only. */
  readonly healthPort?: number;
  /** How long SIGTERM waits for in-flight reviews before closing connections. */
  readonly shutdownGraceMs: number;
  /** Server processes; more than one runs a cluster whose primary owns the health port. */
  readonly workers: number;
  /** Why that many: the flag, or the CPU quota it was derived from; logged at start. */
  readonly workersReason?: string;
}

export interface TlsConfig {
  readonly certificatePath?: string;
  readonly keyPath?: string;
  /** When set, clients must present a certificate signed by this CA (mutual TLS). */
  readonly clientCaPath?: string;
  /** Readiness and the log warn this long before the serving certificate expires. */
  readonly expiryWarningMs: number;
  /**
   * A self-signed pair made once by the cluster primary when no certificate is configured, so that
   * every worker presents the same certificate. Never set from flags.
   */
  readonly generated?: { readonly certificatePem: string; readonly privateKeyPem: string };
}

export interface PolicyConfig {
  /** YAML or JSON ImagePolicy file, watched for changes; absent means the built-in default policy. */
  readonly path?: string;
}

/** `serve`'s say in the verification ledger; absent outside `serve`, where there is never a ledger. */
export interface LedgerConfig {
  /** `--ledger-dir`: the ledger's directory when the policy names none (`spec.verificationLedger.path`). */
  readonly dir?: string;
  /** `--ledger-key-file`: the checksum key; absent, a key the ledger keeps in its directory. */
  readonly keyFile?: string;
  /** Set by a cluster primary that keeps the ledger file for its workers. Never set from flags. */
  readonly keptByPrimary?: boolean;
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LogConfig {
  readonly level: LogLevel;
  /** json for machines (the default); pretty for a terminal. */
  readonly format: LogFormat;
}

export interface AllConfigType {
  readonly server: ServerConfig;
  readonly tls: TlsConfig;
  readonly policy: PolicyConfig;
  readonly log: LogConfig;
  readonly ledger?: LedgerConfig;
}

export const DEFAULT_PORT = 1323;
export const DEFAULT_HOST = '0.0.0.0';

/** The environment variable behind each `serve` option; the CLI and the container healthcheck both read it. */
export const SERVE_ENVIRONMENT = {
  port: 'BOUNCER_PORT',
  cert: 'BOUNCER_CERTIFICATE',
  key: 'BOUNCER_KEY',
  clientCa: 'BOUNCER_CLIENT_CA',
  healthPort: 'BOUNCER_HEALTH_PORT',
  host: 'BOUNCER_HOST',
  policy: 'BOUNCER_POLICY',
  logLevel: 'BOUNCER_LOG_LEVEL',
  logFormat: 'BOUNCER_LOG_FORMAT',
  workers: 'BOUNCER_WORKERS',
  certificateExpiryWarning: 'BOUNCER_CERTIFICATE_EXPIRY_WARNING',
  ledgerDir: 'BOUNCER_LEDGER_DIR',
  ledgerKeyFile: 'BOUNCER_LEDGER_KEY_FILE',
} as const;

/** `--certificate-expiry-warning`'s default: a week's notice, time to renew by hand. */
export const DEFAULT_CERTIFICATE_EXPIRY_WARNING = '7d';

/** Serve options as the environment alone sets them, for processes that have no command line. */
export function serveOptionsFromEnvironment(
  env: NodeJS.ProcessEnv,
): Partial<Record<keyof typeof SERVE_ENVIRONMENT, string>> {
  return Object.fromEntries(
    Object.entries(SERVE_ENVIRONMENT).map(([option, variable]) => [option, env[variable]]),
  );
}
