import { Command, Option } from 'commander';
import { EXIT_DENIED } from './check.command';
import { policyTestJson, policyTestTable } from './policy-test-report';
import { runPolicyTestSuites } from './policy-test-run';
import { findPolicyTestSuites } from './policy-test-suite';

async function test(paths: string[], flags: { output: 'table' | 'json' }): Promise<void> {
  const runs = await runPolicyTestSuites(findPolicyTestSuites(paths));
  process.stdout.write(
    flags.output === 'json' ? `${JSON.stringify(policyTestJson(runs), null, 2)}\n` : policyTestTable(runs),
  );
  if (runs.some((run) => run.results.some((result) => !result.passed))) process.exitCode = EXIT_DENIED;
}

export function testCommand(): Command {
  return new Command('test')
    .description('run policy test suites (kind: ImagePolicyTest): what a policy must decide for each image')
    .argument('<path...>', 'suite file, or directory searched recursively for suites')
    .addOption(
      new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'),
    )
    .addHelpText(
      'after',
      `
A suite names a policy file and tests; each test gives images (or a manifest), a namespace and
pod annotations where needed, and the decision each image must get (allow, warn or deny) and
the rules that must fire. Suites are judged by the engine the webhook and check run.
Schema: schema/image-policy-test.schema.json.

Exit status: 0 when every expectation is met, 1 when any is not, 2 when a suite, its policy or
a manifest cannot be read, or the paths hold no suite.

Example:
  kube-image-bouncer test examples/`,
    )
    .action(test);
}
