import { Command, Option } from 'commander';
import { DEFAULT_HOST, DEFAULT_PORT, SERVE_ENVIRONMENT as ENV } from '../config/bouncer-config';
import { resolveBouncerConfig } from '../config/resolve-bouncer-config';
import { startWebhookServer } from '../server/webhook-server';

interface ServeFlags {
  policy?: string;
  port?: string;
  cert?: string;
  key?: string;
  clientCa?: string;
  healthPort?: string;
  host?: string;
}

async function serve(flags: ServeFlags): Promise<void> {
  const config = resolveBouncerConfig(flags);
  const server = await startWebhookServer(config);
  const { address, healthAddress } = server;
  process.stdout.write(
    `kube-image-bouncer serving ImageReview and AdmissionReview on https://${address.address}:${address.port}` +
      (healthAddress ? `, probes on http://${healthAddress.address}:${healthAddress.port}` : '') +
      '\n',
  );

  const shutdown = (signal: NodeJS.Signals): void => {
    // close() stops listening synchronously; announcing only afterwards means anyone who reads
    // this line and connects is refused, not accepted and then reset.
    const closing = server.close();
    process.stdout.write(`${signal} received: stopped accepting connections, draining in-flight reviews\n`);
    closing.then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`shutdown failed: ${String(error)}\n`);
        process.exit(1);
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
    .addOption(new Option('--host <address>', 'address to listen on').env(ENV.host).default(DEFAULT_HOST))
    .action(serve);
}
