import { Command, Option } from 'commander';
import { SERVE_ENVIRONMENT } from '../config';
import { DEFAULT_IN_CLUSTER_SERVICE } from './in-cluster-manifests';

/** Exit status when a path lets through what the policy refuses, or refuses what it allows. */
export const EXIT_BYPASSED = 1;
/** Exit status when the cluster cannot be reached: the same as a usage error, as kubectl's. */
export const EXIT_UNREACHABLE = 2;

const OUTPUT_FORMATS = ['table', 'json', 'junit', 'sarif'] as const;
type OutputFormat = (typeof OUTPUT_FORMATS)[number];

interface DoctorFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  policy?: string;
  image?: string;
  allowedImage?: string;
  service: string;
  url?: string;
  ephemeralTarget?: string;
  staticManifests: string[];
  output: OutputFormat;
}

async function doctor(flags: DoctorFlags): Promise<void> {
  // Loaded here: the Kubernetes client is the CLI's alone, and serve never loads it.
  const { runDoctor, DoctorUnreachableError } = await import('./doctor-run');
  const { doctorFailed, doctorJson, doctorJunit, doctorSarif, doctorTable } = await import('./doctor-report');
  let report;
  try {
    report = await runDoctor(flags);
  } catch (error) {
    if (!(error instanceof DoctorUnreachableError)) throw error;
    process.stderr.write(`kube-image-bouncer: ${error.message}\n`);
    process.exitCode = EXIT_UNREACHABLE;
    return;
  }
  const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
  const formatted = {
    table: () => doctorTable(report),
    json: () => json(doctorJson(report)),
    junit: () => doctorJunit(report),
    sarif: () => json(doctorSarif(report)),
  }[flags.output];
  process.stdout.write(formatted());
  if (doctorFailed(report)) process.exitCode = EXIT_BYPASSED;
}

export function doctorCommand(): Command {
  return new Command('doctor')
    .description(
      'prove on a live cluster that every admission path refuses what the policy refuses: lint the webhook registration, then send dry-run canaries',
    )
    .option(
      '--kubeconfig <file>',
      'kubeconfig file; default: $KUBECONFIG, then ~/.kube/config, then the pod’s service account',
    )
    .option('--context <name>', 'kubeconfig context; default: its current-context')
    .option(
      '-n, --namespace <namespace>',
      "where the canaries are sent (dry run: nothing is created); default: the context's, or default",
    )
    .addOption(
      new Option(
        '--policy <file>',
        'the ImagePolicy the bouncer runs; default: the built-in policy (deny latest)',
      ).env(SERVE_ENVIRONMENT.policy),
    )
    .option(
      '--image <image>',
      'an image the policy refuses, for the canaries; default: picked from the policy',
    )
    .option(
      '--allowed-image <image>',
      'an image the policy allows, to prove the webhook does not refuse everything; default: picked from the policy',
    )
    .option(
      '--service <namespace/name>',
      "the bouncer's Service, to find webhooks that call it",
      `${DEFAULT_IN_CLUSTER_SERVICE.namespace}/${DEFAULT_IN_CLUSTER_SERVICE.service}`,
    )
    .option(
      '--url <url>',
      "the start of the bouncer's URL (https://host:port), to find webhooks that call it by URL",
    )
    .option(
      '--ephemeral-target <pod>',
      'the pod an ephemeral canary is added to (dry run); default: the first pod of the namespace',
    )
    .option(
      '--static-manifests <dir>',
      'a directory of KEP-5793 static webhook manifests (the API does not list them), to lint them too; repeatable',
      (value: string, previous: string[]) => [...previous, value],
      [],
    )
    .addOption(new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS).default('table'))
    .addHelpText(
      'after',
      `
Every canary is sent with dryRun=All, a generated name and the label
kube-image-bouncer.io/doctor-canary=true: nothing is created. The paths: a Pod, a Deployment, a
CronJob, an ephemeral container (added to an existing pod), an image volume, each with an image
the policy refuses; and a Pod with an image it allows, so a webhook that refuses everything is
caught too.

Exit status: 0 when every path refuses the canary and the allowed one is admitted, 1 when a path
lets the canary through (bypassed) or refuses the allowed image, 2 when the cluster cannot be
reached, the kubeconfig not used, or an option or the policy is wrong.

Examples:
  kube-image-bouncer doctor --policy policy.yaml
  kube-image-bouncer doctor --context prod -n team-a -o json
  kube-image-bouncer doctor --image registry.example.com/unsigned/app:1.0 --allowed-image registry.example.com/signed/app:1.0`,
    )
    .action(doctor);
}
