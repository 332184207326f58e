import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The commit a build was made from: recorded by `npm run build`, else read from git, else unknown. */
export interface BuildInfo {
  readonly commit: string | null;
  /** `dirty` when tracked files had uncommitted changes; null when the commit is unknown. */
  readonly treeState: 'clean' | 'dirty' | null;
  /** Where the commit came from: the build's record, or git at run time. */
  readonly source: 'build' | 'git' | null;
}

// dist/version/ at run time, src/version/ under ts-jest; the package root is two levels up from either.
const PACKAGE_ROOT = join(__dirname, '..', '..');
const RECORD = join(__dirname, '..', 'build-info.json');

function fromGit(): BuildInfo | undefined {
  // Only the package's own checkout: a global install has no .git, and a parent directory's
  // repository would name someone else's commit.
  if (!existsSync(join(PACKAGE_ROOT, '.git'))) return undefined;
  const git = (...args: string[]): string =>
    execFileSync('git', args, { cwd: PACKAGE_ROOT, encoding: 'utf8', stdio: 'pipe', timeout: 5_000 }).trim();
  try {
    const commit = git('rev-parse', 'HEAD');
    const dirty = git('status', '--porcelain', '--untracked-files=no') !== '';
    return { commit, treeState: dirty ? 'dirty' : 'clean', source: 'git' };
  } catch {
    return undefined;
  }
}

export function buildInfo(): BuildInfo {
  if (existsSync(RECORD)) {
    const recorded = JSON.parse(readFileSync(RECORD, 'utf8')) as Omit<BuildInfo, 'source'>;
    if (recorded.commit) return { ...recorded, source: 'build' };
  }
  return fromGit() ?? { commit: null, treeState: null, source: null };
}
