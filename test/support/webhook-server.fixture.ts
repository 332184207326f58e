import { AllConfigType } from '../../src/config/bouncer-config';
import { RunningWebhookServer, startWebhookServer } from '../../src/server/webhook-server';
import { TestPki } from './test-pki';

export interface TestServerOptions {
  /** Require client certificates signed by the test CA. */
  readonly mutualTls?: boolean;
  /** Also open the plain-HTTP health port. */
  readonly healthPort?: boolean;
  /** Serve a certificate made at start instead of the test PKI's. */
  readonly selfSigned?: boolean;
  /** ImagePolicy file; the built-in default policy when absent. */
  readonly policyPath?: string;
  /** Certificate and key files other than the test PKI's (e.g. a secret volume that rotates). */
  readonly certificate?: { readonly certificatePath: string; readonly keyPath: string };
  /** How long before expiry readiness warns; the default is the CLI's, 7 days. */
  readonly expiryWarningMs?: number;
  /** `--ledger-dir`: the verification ledger's directory when the policy names none. */
  readonly ledgerDir?: string;
}

/** The real Nest app on real TLS listeners, on ephemeral loopback ports. */
export function startTestServer(
  pki: TestPki,
  options: TestServerOptions = {},
): Promise<RunningWebhookServer> {
  const config: AllConfigType = {
    server: {
      host: '127.0.0.1',
      port: 0,
      healthPort: options.healthPort ? 0 : undefined,
      shutdownGraceMs: 2_000,
      workers: 1,
    },
    tls: {
      certificatePath: options.selfSigned
        ? undefined
        : (options.certificate?.certificatePath ?? pki.paths.serverCert),
      keyPath: options.selfSigned ? undefined : (options.certificate?.keyPath ?? pki.paths.serverKey),
      clientCaPath: options.mutualTls ? pki.paths.caCert : undefined,
      expiryWarningMs: options.expiryWarningMs ?? 7 * 86_400_000,
    },
    policy: { path: options.policyPath },
    log: { level: 'silent', format: 'json' },
    // As `serve` has it: a ledger when the policy or ledgerDir names a directory.
    ledger: { dir: options.ledgerDir },
  };
  return startWebhookServer(config, { logger: false });
}
