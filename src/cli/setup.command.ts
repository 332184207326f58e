import { Command, InvalidArgumentError, Option } from 'commander';
import { relative } from 'node:path';
import { DEFAULT_PORT } from '../config';
import { alignColumns } from './aligned-columns';
import { DEFAULT_IN_CLUSTER_SERVICE } from './in-cluster-manifests';
import {
  IN_CLUSTER_FILE_NAMES,
  InClusterSetupFile,
  writeInClusterSetupFiles,
} from './in-cluster-setup-files';
import {
  DEFAULT_APISERVER_DIRECTORY,
  DEFAULT_SETUP_DIRECTORY,
  DEFAULT_VALIDITY_DAYS,
  SETUP_FILE_NAMES,
  STATIC_FILE_NAMES,
  SetupFile,
  StaticSetupFile,
  writeSetupFiles,
} from './setup-files';

interface SetupFlags {
  host?: string;
  group?: string;
  inCluster?: boolean;
  namespace: string;
  service: string;
  ip: string[];
  out: string;
  apiserverDir: string;
  days: number;
  port: number;
  force?: boolean;
  static?: string;
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
  mutatingWebhookConfiguration:
    'kubectl apply -f, when the policy pins digests: the MutatingWebhookConfiguration',
  imageVolumeWebhookConfiguration:
    'kubectl apply -f, with ImagePolicyWebhook alone: pods that mount image volumes',
  readme: 'where each file goes, and the exact commands and flags',
};

const STATIC_WHAT: Record<StaticSetupFile, string> = {
  staticValidatingWebhookConfiguration:
    'kube-apiserver, with --static: the validating webhook as a static manifest the API cannot delete',
  staticMutatingWebhookConfiguration:
    'kube-apiserver, with --static, when the policy pins digests: the mutating webhook, static',
};

function integer(min: number, max: number): (value: string) => number {
  return (value) => {
    const number = /^\d+$/.test(value) ? Number(value) : Number.NaN;
    if (!(number >= min && number <= max))
      throw new InvalidArgumentError(`must be an integer from ${min} to ${max}.`);
    return number;
  };
}

const IN_CLUSTER_WHAT: Record<InClusterSetupFile, string> = {
  caCertificate: 'CA certificate: the caBundle the kube-apiserver trusts',
  caKey: "CA private key: keep it offline, it's only for issuing new certificates",
  tlsSecret: "kubectl apply -f: the bouncer's TLS Secret (holds its private key)",
  validatingWebhookConfiguration: 'kubectl apply -f, once the bouncer is Ready: the webhook',
  mutatingWebhookConfiguration:
    'kubectl apply -f, once Ready and when the policy pins digests: digest pinning',
  readme: 'the install in stages, with the exact commands',
};

const shownDirectory = (directory: string): string => relative(process.cwd(), directory) || '.';
const nextStep = (shown: string): string => `next: read ${shown === '.' ? '' : `${shown}/`}README.md`;

async function setupInCluster(flags: SetupFlags): Promise<void> {
  const result = await writeInClusterSetupFiles({
    namespace: flags.namespace,
    service: flags.service,
    outDir: flags.out,
    validityDays: flags.days,
    force: flags.force,
  });
  const shown = shownDirectory(result.directory);
  const rows = (Object.keys(IN_CLUSTER_FILE_NAMES) as InClusterSetupFile[]).map((file) => [
    IN_CLUSTER_FILE_NAMES[file],
    IN_CLUSTER_WHAT[file],
  ]);
  const { namespace, service } = result.target;
  process.stdout.write(
    [
      `wrote ${rows.length} files to ${shown} for the Service ${service}.${namespace}.svc (files with private keys mode 0600):`,
      ...alignColumns(rows).map((row) => `  ${row}`),
      nextStep(shown),
      '',
    ].join('\n'),
  );
}

async function setup(flags: SetupFlags, command: Command): Promise<void> {
  if (flags.inCluster) return setupInCluster(flags);
  for (const option of ['namespace', 'service'])
    if (command.getOptionValueSource(option) === 'cli')
      command.error(`error: option '--${option} <name>' is only for --in-cluster`);
  // Required unless --in-cluster, with the message commander gives a required option.
  if (flags.host === undefined) command.error("error: required option '--host <name>' not specified");
  const result = await writeSetupFiles({
    host: flags.host,
    group: flags.group,
    ipAddresses: flags.ip,
    port: flags.port,
    outDir: flags.out,
    apiserverDir: flags.apiserverDir,
    validityDays: flags.days,
    force: flags.force,
    staticDir: flags.static,
  });
  const shown = shownDirectory(result.directory);
  const keyModes =
    result.serverKeyGid === undefined
      ? 'private keys mode 0600'
      : `private keys mode 0600, but server.key 0640 for group ${result.serverKeyGid}`;
  const rows = [
    ...(Object.keys(SETUP_FILE_NAMES) as SetupFile[]).map((file) => [SETUP_FILE_NAMES[file], WHAT[file]]),
    ...(result.staticFiles
      ? (Object.keys(STATIC_FILE_NAMES) as StaticSetupFile[]).map((file) => [
          STATIC_FILE_NAMES[file],
          STATIC_WHAT[file],
        ])
      : []),
  ];
  process.stdout.write(
    [
      `wrote ${rows.length} files to ${shown} for a bouncer at ${result.serverUrl} (${keyModes}):`,
      ...alignColumns(rows).map((row) => `  ${row}`),
      nextStep(shown),
      '',
    ].join('\n'),
  );
}

export function setupCommand(): Command {
  return new Command('setup')
    .description(
      'make a CA, server and client certificates, and the kube-apiserver files for both webhooks, ready to copy',
    )
    .option(
      '--host <name>',
      'DNS name or IP address the kube-apiserver uses to reach the bouncer (required, but for --in-cluster)',
    )
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
    .option(
      '--group <gid>',
      "give server.key to the server's group, mode 0640 (a gid, or a name in /etc/group): 65532 for the container image",
    )
    .option(
      '--static <dir>',
      'also write the webhook configurations as KEP-5793 static manifests (*.static.k8s.io, which the API can neither change nor delete), and name <dir>/validating in the AdmissionConfiguration: where the kube-apiserver will find them (Kubernetes 1.37+, gate ManifestBasedAdmissionControlConfig)',
    )
    .option('--force', 'replace files that exist (otherwise nothing is written if any does)')
    .addOption(
      new Option(
        '--in-cluster',
        'for a bouncer in the cluster without cert-manager: its TLS Secret manifest and the webhook configuration with its caBundle',
      ).conflicts(['host', 'ip', 'port', 'apiserverDir', 'group', 'static']),
    )
    .option(
      '--namespace <name>',
      "with --in-cluster: the bouncer's namespace",
      DEFAULT_IN_CLUSTER_SERVICE.namespace,
    )
    .option(
      '--service <name>',
      "with --in-cluster: the bouncer's Service",
      DEFAULT_IN_CLUSTER_SERVICE.service,
    )
    .addHelpText(
      'after',
      `
Exit status: 0 when the files are written; 2 on a bad option, or when files exist without --force.

Examples:
  kube-image-bouncer setup --host bouncer.example.com --ip 10.0.0.5 --out ./bouncer-pki --group 65532
  kube-image-bouncer setup --host bouncer.example.com --static /etc/kubernetes/image-policy/static
  kube-image-bouncer setup --in-cluster --out ./bouncer-in-cluster`,
    )
    .action(setup);
}
