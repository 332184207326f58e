import { Command, InvalidArgumentError, Option } from 'commander';
import { relative } from 'node:path';
import { DEFAULT_PORT } from '../config/bouncer-config';
import { alignColumns } from './aligned-columns';
import {
  DEFAULT_APISERVER_DIRECTORY,
  DEFAULT_SETUP_DIRECTORY,
  DEFAULT_VALIDITY_DAYS,
  SETUP_FILE_NAMES,
  SetupFile,
  writeSetupFiles,
} from './setup-files';

interface SetupFlags {
  host: string;
  ip: string[];
  out: string;
  apiserverDir: string;
  days: number;
  port: number;
  force?: boolean;
}

const WHAT: Record<SetupFile, string> = {
  caCertificate: 'CA certificate: the bouncer and the kube-apiserver trust it',
  caKey: "CA private key: keep it offline, it's only for issuing new certificates",
  serverCertificate: "the bouncer's server certificate",
  serverKey: "the bouncer's private key",
  clientCertificate: "the kube-apiserver's client certificate",
  clientKey: "the kube-apiserver's private key",
  imagePolicyKubeconfig: 'kube-apiserver: kubeconfig for ImagePolicyWebhook',
  webhookKubeconfig: 'kube-apiserver: client certificate for the validating webhook',
  admissionConfiguration: 'kube-apiserver: --admission-control-config-file',
  validatingWebhookConfiguration: 'kubectl apply -f: the ValidatingWebhookConfiguration',
  readme: 'where each file goes, and the exact commands and flags',
};

function integer(min: number, max: number): (value: string) => number {
  return (value) => {
    const number = /^\d+$/.test(value) ? Number(value) : Number.NaN;
    if (!(number >= min && number <= max))
      throw new InvalidArgumentError(`must be an integer from ${min} to ${max}.`);
    return number;
  };
}

async function setup(flags: SetupFlags): Promise<void> {
  const result = await writeSetupFiles({
    host: flags.host,
    ipAddresses: flags.ip,
    port: flags.port,
    outDir: flags.out,
    apiserverDir: flags.apiserverDir,
    validityDays: flags.days,
    force: flags.force,
  });
  const shown = relative(process.cwd(), result.directory) || '.';
  const rows = (Object.keys(SETUP_FILE_NAMES) as SetupFile[]).map((file) => [
    SETUP_FILE_NAMES[file],
    WHAT[file],
  ]);
  process.stdout.write(
    [
      `wrote ${rows.length} files to ${shown} for a bouncer at ${result.serverUrl} (private keys mode 0600):`,
      ...alignColumns(rows).map((row) => `  ${row}`),
      `next: read ${shown === '.' ? '' : `${shown}/`}README.md`,
      '',
    ].join('\n'),
  );
}

export function setupCommand(): Command {
  return new Command('setup')
    .description(
      'make a CA, server and client certificates, and the kube-apiserver files for both webhooks, ready to copy',
    )
    .requiredOption('--host <name>', 'DNS name or IP address the kube-apiserver uses to reach the bouncer')
    .option(
      '--ip <address>',
      'another IP address for the server certificate; repeatable',
      (value: string, previous: string[]) => [...previous, value],
      [],
    )
    .addOption(
      new Option('-p, --port <port>', 'port the bouncer serves on')
        .argParser(integer(1, 65535))
        .default(DEFAULT_PORT),
    )
    .option('--out <dir>', 'directory to write to', DEFAULT_SETUP_DIRECTORY)
    .option(
      '--apiserver-dir <dir>',
      'where the kube-apiserver will find its files; the paths inside them point there',
      DEFAULT_APISERVER_DIRECTORY,
    )
    .addOption(
      new Option('--days <days>', 'validity of the certificates, in days')
        .argParser(integer(1, 36_500))
        .default(DEFAULT_VALIDITY_DAYS),
    )
    .option('--force', 'replace files that exist (otherwise nothing is written if any does)')
    .addHelpText(
      'after',
      `
Exit status: 0 when the files are written; 2 on a bad option, or when files exist without --force.

Example:
  kube-image-bouncer setup --host bouncer.example.com --ip 10.0.0.5 --out ./bouncer-pki`,
    )
    .action(setup);
}
