import { Command, Option } from 'commander';
import {
  DEFAULT_CERTIFICATE_EXPIRY_WARNING,
  DEFAULT_HOST,
  DEFAULT_PORT,
  LOG_LEVELS,
  SERVE_ENVIRONMENT as ENV,
  resolveBouncerConfig,
} from '../config';
import { PinoNestLogger, createBouncerLogger } from '../logging';
import { announceDraining, announceServing, announceWorkers, startWebhookServer } from '../server';
import { runClusterPrimary } from '../cluster';

interface ServeFlags {
  workers?: string;
  logLevel?: string;
  logFormat?: string;
  policy?: string;
  port?: string;
  cert?: string;
  key?: string;
  clientCa?: string;
  healthPort?: string;
  host?: string;
  certificateExpiryWarning?: string;
  ledgerDir?: string;
  ledgerKeyFile?: string;
}

async function serve(flags: ServeFlags): Promise<void> {
  const config = resolveBouncerConfig(flags);
  const log = createBouncerLogger(config.log);
  announceWorkers(log, config.server);
  if (config.server.workers > 1) {
    await runClusterPrimary(config, log);
    return;
  }
  const server = await startWebhookServer(config, { logger: new PinoNestLogger(log) });
  announceServing(log, server.address, server.healthAddress, 1);

  const exit = (code: number): void => log.flush(() => process.exit(code));
  const shutdown = (signal: NodeJS.Signals): void => {
    // close() stops listening synchronously; announcing only afterwards means anyone who reads
    // this line and connects is refused, not accepted and then reset.
    const closing = server.close();
    announceDraining(log, signal);
    closing.then(
      () => exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

export function serveCommand(): Command {
  return new Command('serve')
    .description(
      'serve ImageReview (ImagePolicyWebhook) and AdmissionReview (ValidatingAdmissionWebhook) over HTTPS',
    )
    .addOption(
      new Option('-p, --port <port>', 'HTTPS port for reviews').env(ENV.port).default(String(DEFAULT_PORT)),
    )
    .addOption(
      new Option(
        '-c, --cert <file>',
        'PEM server certificate (self-signed one made at start if omitted)',
      ).env(ENV.cert),
    )
    .addOption(new Option('-k, --key <file>', 'PEM private key of --cert').env(ENV.key))
    .addOption(
      new Option('--client-ca <file>', 'require client certificates signed by this PEM CA (mutual TLS)').env(
        'BOUNCER_CLIENT_CA',
      ),
    )
    .addOption(
      new Option(
        '--certificate-expiry-warning <duration>',
        'warn in the log and /readyz this long before the serving certificate expires (7d, 36h, 90m; a bare number is days)',
      )
        .env(ENV.certificateExpiryWarning)
        .default(DEFAULT_CERTIFICATE_EXPIRY_WARNING),
    )
    .addOption(
      new Option('--health-port <port>', 'plain-HTTP port for /healthz, /livez and /readyz').env(
        'BOUNCER_HEALTH_PORT',
      ),
    )
    .addOption(
      new Option(
        '--policy <file>',
        'ImagePolicy file (YAML or JSON), reloaded when it changes; default: deny latest',
      ).env(ENV.policy),
    )
    .addOption(
      new Option(
        '--ledger-dir <dir>',
        "keep the verification ledger here when the policy's spec.verificationLedger.path does not say: verified digests admitted during a registry outage",
      ).env(ENV.ledgerDir),
    )
    .addOption(
      new Option(
        '--ledger-key-file <file>',
        "the verification ledger's checksum key (at least 32 bytes); default: a key kept in the ledger directory",
      ).env(ENV.ledgerKeyFile),
    )
    .addOption(new Option('--host <address>', 'address to listen on').env(ENV.host).default(DEFAULT_HOST))
    .addOption(
      new Option(
        '--workers <n>',
        'server processes sharing the TLS port, 1 running in a single process (default: one per CPU the cgroup CPU quota and the affinity mask allow)',
      ).env(ENV.workers),
    )
    .addOption(
      new Option('--log-level <level>', `log level: ${LOG_LEVELS.join(', ')}`)
        .env(ENV.logLevel)
        .default('info'),
    )
    .addOption(
      new Option('--log-format <format>', 'log format: json (one object per line) or pretty')
        .env(ENV.logFormat)
        .default('json'),
    )
    .action(serve);
}
