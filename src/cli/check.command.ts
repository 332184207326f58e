import { Command, Option } from 'commander';
import { text } from 'node:stream/consumers';
import { SERVE_ENVIRONMENT } from '../config/bouncer-config';
import { InvalidConfigError } from '../config/resolve-bouncer-config';
import { checkJson, checkTable } from './check-report';
import { checkSarif } from './check-sarif';
import { DEFAULT_NAMESPACE, checkManifests } from './manifest-check';
import { readManifests } from './manifest-source';
import { withPolicyEngine } from '../policy/policy-engine';

/** Exit status when the webhook would deny at least one pod spec. */
export const EXIT_DENIED = 1;

interface CheckFlags {
  filename: string[];
  policy?: string;
  namespace: string;
  output: 'table' | 'json' | 'sarif';
}

async function check(flags: CheckFlags): Promise<void> {
  if (flags.filename.length === 0)
    throw new InvalidConfigError(['check needs at least one -f FILE, -f DIRECTORY or -f - (stdin)']);
  // Read as a stream: a synchronous read of fd 0 fails with EAGAIN when stdin is a non-blocking pipe.
  const stdin = flags.filename.includes('-') ? await text(process.stdin) : '';
  const report = await withPolicyEngine(flags.policy, async (engine) => {
    const input = readManifests(flags.filename, () => stdin);
    return {
      policy: engine.policy,
      input,
      check: await checkManifests(engine, input.documents, flags.namespace),
    };
  });
  const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
  process.stdout.write(
    flags.output === 'json'
      ? json(checkJson(report))
      : flags.output === 'sarif'
        ? json(checkSarif(report))
        : checkTable(report),
  );
  if (report.check.denied > 0) process.exitCode = EXIT_DENIED;
}

export function checkCommand(): Command {
  return new Command('check')
    .description(
      'check Kubernetes manifests against the image policy, offline, with the engine the webhook runs',
    )
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
      '-n, --namespace <namespace>',
      'namespace for objects whose metadata names none',
      DEFAULT_NAMESPACE,
    )
    .addOption(
      new Option('-o, --output <format>', 'output format')
        .choices(['table', 'json', 'sarif'])
        .default('table'),
    )
    .addHelpText(
      'after',
      `
Every pod spec is found as the webhook finds it (Pod, PodTemplate, ReplicationController,
Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob; also inside a kind: List), and
judged as one admission review. Enforced and warn-mode violations are reported; audit-mode ones
are not, as kubectl would not show them either.

Exit status: 0 when every pod spec would be admitted (warnings included), 1 when the webhook
would deny at least one, 2 when an input or the policy cannot be read.

Examples:
  kube-image-bouncer check -f deploy/
  helm template my-release ./chart | kube-image-bouncer check -f - --policy policy.yaml
  kustomize build overlays/prod | kube-image-bouncer check -f - -n prod -o sarif > images.sarif`,
    )
    .action(check);
}
