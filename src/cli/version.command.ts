import { Command, Option } from 'commander';
import { DISTRIBUTION_REFERENCE } from '../image-reference';
import { alignColumns } from './aligned-columns';
import { BuildInfo, buildInfo, packageVersion } from '../version';

export interface VersionReport {
  readonly version: string;
  readonly commit: string | null;
  readonly treeState: BuildInfo['treeState'];
  readonly node: string;
  readonly imageReference: { readonly upstream: string; readonly version: string };
}

export function versionReport(): VersionReport {
  const { commit, treeState } = buildInfo();
  return {
    version: packageVersion(),
    commit,
    treeState,
    node: process.version,
    imageReference: { upstream: DISTRIBUTION_REFERENCE.module, version: DISTRIBUTION_REFERENCE.version },
  };
}

export function versionText(report: VersionReport): string {
  const commit =
    report.commit === null
      ? 'unknown (not built from a git checkout)'
      : `${report.commit}${report.treeState === 'dirty' ? ' (with uncommitted changes)' : ''}`;
  return `${alignColumns([
    ['version', report.version],
    ['commit', commit],
    ['node', report.node],
    ['image references', `${report.imageReference.upstream} ${report.imageReference.version}`],
  ]).join('\n')}\n`;
}

export function versionCommand(): Command {
  return new Command('version')
    .description(
      'print the version, the git commit it was built from, Node.js and the image-reference grammar',
    )
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .action((flags: { output: 'text' | 'json' }) => {
      const report = versionReport();
      process.stdout.write(
        flags.output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : versionText(report),
      );
    });
}
