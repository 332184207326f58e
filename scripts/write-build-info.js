// Records the git commit the build was made from in dist/build-info.json, for
// `kube-image-bouncer version`; run by `npm run build` after `nest build`. Without git (a source
// tarball, a container build that leaves .git out) it records no commit rather than failing.
const { execFileSync } = require('node:child_process');
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const git = (...args) => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: 'pipe' }).trim();

let commit = null;
let treeState = null;
try {
  commit = git('rev-parse', 'HEAD');
  // Like helm's GitTreeState: a build with uncommitted changes to tracked files is not that commit.
  treeState = git('status', '--porcelain', '--untracked-files=no') === '' ? 'clean' : 'dirty';
} catch {
  // not a git checkout, or no git: the commit is unknown
}
const target = join(root, 'dist', 'build-info.json');
writeFileSync(target, `${JSON.stringify({ commit, treeState }, null, 2)}\n`);
process.stdout.write(`wrote ${target} (commit ${commit ?? 'unknown'})\n`);
