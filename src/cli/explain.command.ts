import { Command, Option } from 'commander';
import { SERVE_ENVIRONMENT, InvalidConfigError } from '../config';
import { explanationJson, explanationText } from './image-explanation';
import { warnAboutPolicy } from './policy-warnings';
import { withPolicyEngine } from '../policy';

interface ExplainFlags {
  namespace: string;
  policy?: string;
  output: 'text' | 'json';
  offline?: boolean;
}

async function explain(image: string, flags: ExplainFlags): Promise<void> {
  if (image.trim() === '') throw new InvalidConfigError(['IMAGE must not be empty']);
  const { explanation, pin } = await withPolicyEngine(flags.policy, async (engine, pinning) => {
    warnAboutPolicy(engine.policy);
    const registry = flags.offline ? 'offline' : 'online';
    const subject = { image };
    // Explained as in a Pod: pinned first, as /mutate would, when the policy pins and we may ask.
    const pinned =
      registry === 'online' && pinning.pinsKind('pod')
        ? await pinning.pin({ images: [subject], namespace: flags.namespace })
        : undefined;
    const pin = pinned?.pins[0];
    const judged = pin && 'pinned' in pin.outcome ? pin.outcome.pinned : image;
    return {
      explanation: await engine.explain(
        { images: [{ image: judged }], namespace: flags.namespace },
        { registry },
      ),
      pin,
    };
  });
  process.stdout.write(
    flags.output === 'json'
      ? `${JSON.stringify(explanationJson(image, explanation, pin), null, 2)}\n`
      : explanationText(image, explanation, pin),
  );
}

export function explainCommand(): Command {
  return new Command('explain')
    .description(
      'show how an image reference is parsed and how each rule of the policy judges it; exits 0 whatever the decision',
    )
    .argument('<image>', 'image reference as written in a pod spec, e.g. nginx or localhost:5000/app')
    .option('-n, --namespace <namespace>', 'namespace the pod would run in', 'default')
    .addOption(
      new Option(
        '--policy <file>',
        'ImagePolicy file (YAML or JSON); default: the built-in policy (deny latest)',
      ).env(SERVE_ENVIRONMENT.policy),
    )
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .option(
      '--offline',
      'never ask a registry: rules that need one, and digest pinning, are shown as skipped',
    )
    .action(explain);
}
