import { Command, InvalidArgumentError, Option } from 'commander';
import { text } from 'node:stream/consumers';
import { SERVE_ENVIRONMENT, InvalidConfigError } from '../config';
import { FailOn, checkJunit } from './check-junit';
import { CheckReport, checkJson, checkTable, skippedRegistryWork } from './check-report';
import { checkSarif } from './check-sarif';
import { DEFAULT_NAMESPACE, checkManifests, nothingToCheck } from './manifest-check';
import { readManifests } from './manifest-source';
import { warnAboutPolicy } from './policy-warnings';
import { withPolicyEngine } from '../policy';

/** Exit status when the webhook would deny at least one pod spec. */
export const EXIT_DENIED = 1;

interface CheckFlags {
  filename: string[];
  policy?: string;
  namespace: string;
  output: OutputFormat;
  failOn: FailOn;
  online?: boolean;
}

const OUTPUT_FORMATS = ['table', 'json', 'sarif', 'junit'] as const;
type OutputFormat = (typeof OUTPUT_FORMATS)[number];

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

function formatted(report: CheckReport, flags: CheckFlags): string {
  switch (flags.output) {
    case 'json':
      return json(checkJson(report));
    case 'sarif':
      return json(checkSarif(report));
    case 'junit':
      return checkJunit(report, flags.failOn);
    case 'table':
      return checkTable(report, flags.failOn.skipped);
  }
}

const FAIL_ON = ['deny', 'warn', 'skipped'] as const;

/**
 * `--fail-on warn`, `--fail-on skipped`, `--fail-on warn,skipped` or the option twice: what fails
 * the run besides a denial, which always does (`deny`, the default, adds nothing).
 */
function parseFailOn(value: string, previous: FailOn): FailOn {
  const words = value.split(',').map((word) => word.trim());
  const unknown = words.filter((word) => !(FAIL_ON as readonly string[]).includes(word));
  if (unknown.length > 0)
    throw new InvalidArgumentError(
      `Allowed choices are ${FAIL_ON.join(', ')}, or several separated by commas.`,
    );
  return {
    warn: previous.warn || words.includes('warn'),
    skipped: previous.skipped || words.includes('skipped'),
  };
}

async function check(paths: string[], given: CheckFlags): Promise<void> {
  // `check deploy/` is `check -f deploy/`, as conftest and kubeconform take their files.
  const flags = { ...given, filename: [...given.filename, ...paths] };
  if (flags.filename.length === 0)
    throw new InvalidConfigError([
      'check needs at least one FILE, DIRECTORY or - (stdin), each given alone or after -f',
    ]);
  // Read as a stream: a synchronous read of fd 0 fails with EAGAIN when stdin is a non-blocking pipe.
  const stdin = flags.filename.includes('-') ? await text(process.stdin) : '';
  const report: CheckReport = await withPolicyEngine(flags.policy, async (engine, pinning) => {
    warnAboutPolicy(engine.policy);
    const input = readManifests(flags.filename, () => stdin);
    return {
      policy: engine.policy,
      input,
      check: await checkManifests(engine, input.documents, flags.namespace, {
        online: flags.online ?? false,
        pinning,
      }),
    };
  });
  if (report.check.reviews.length === 0 && report.check.skipped.length === 0)
    throw nothingToCheck(report.input);
  process.stdout.write(formatted(report, flags));
  if (
    report.check.denied > 0 ||
    (flags.failOn.warn && report.check.warned > 0) ||
    (flags.failOn.skipped && skippedRegistryWork(report))
  )
    process.exitCode = EXIT_DENIED;
}

export function checkCommand(): Command {
  return new Command('check')
    .description(
      'check Kubernetes manifests against the image policy with the engine the webhook runs; offline unless --online',
    )
    .argument('[paths...]', 'the same as -f: manifest files, directories, or - for stdin')
    .option(
      '-f, --filename <path>',
      'manifest file, directory (searched recursively for .yaml, .yml and .json) or - for stdin; repeatable',
      (value: string, previous: string[]) => [...previous, value],
      [],
    )
    .addOption(
      new Option(
        '--policy <file>',
        'ImagePolicy file (YAML or JSON); default: the built-in policy (deny latest)',
      ).env(SERVE_ENVIRONMENT.policy),
    )
    .option(
      '--online',
      'ask registries as the webhook does: pin images as /mutate would, then verify signatures and attestations; without it those checks are skipped and listed',
    )
    .option(
      '-n, --namespace <namespace>',
      'namespace for objects whose metadata names none',
      DEFAULT_NAMESPACE,
    )
    .addOption(new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS).default('table'))
    .addOption(
      new Option(
        '--fail-on <outcome>',
        'what fails the run (exit status 1) besides a denial: warn (a warning), skipped (a check that needs the registry, skipped offline); repeatable, or comma-separated',
      )
        .argParser(parseFailOn)
        .default({ warn: false, skipped: false }, 'deny'),
    )
    .addHelpText(
      'after',
      `
Every pod spec is found as the webhook finds it (Pod, PodTemplate, ReplicationController,
Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob, Argo Rollout, Knative Service;
also inside a kind: List), and judged as one admission review. Enforced and warn-mode violations
are reported; audit-mode ones are not, as kubectl would not show them either. Objects of other
kinds are listed as skipped.

Offline by default: rules that need a registry (verifySignatures, verifyAttestations) are skipped,
and images digest pinning would resolve are judged as pinned (as the validating webhook sees them
after /mutate); the report says which. --fail-on skipped fails such a run, for CI jobs that must
not pass over them. --online asks registries as the webhook does: it pins images as /mutate would,
then judges them as /validate would.

What spec.exceptions let through is listed too (ENFORCEMENT "excepted", with the ticket and its
expiry), and fails nothing.

Exit status: 0 when every pod spec would be admitted (warnings included, unless --fail-on warn;
skipped registry checks included, unless --fail-on skipped), 1 when the webhook would deny at
least one, 2 when an input or the policy cannot be read, or the inputs hold no Kubernetes object
at all.

Examples:
  kube-image-bouncer check deploy/
  kube-image-bouncer check -f deploy/
  helm template my-release ./chart | kube-image-bouncer check -f - --policy policy.yaml
  kustomize build overlays/prod | kube-image-bouncer check -f - -n prod -o sarif > images.sarif
  kube-image-bouncer check -f deploy/ --fail-on warn -o junit > images.xml
  kube-image-bouncer check -f deploy/ --online --policy signed-images.yaml
  kube-image-bouncer check -f deploy/ --fail-on skipped --policy signed-images.yaml`,
    )
    .action(check);
}
