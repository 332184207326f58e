// What `npm run build` does after `nest build`, which empties dist/ and writes every file without
// an execute bit:
//   1. makes the package's bin (dist/main.js) executable again. `npm install -g .` links the clone,
//      so without this the linked command says "Permission denied" after any rebuild (`npm run
//      build`, `npm start`, `npm pack`); npm sets the bit only when it installs a copy.
//   2. records the git commit the build was made from in dist/build-info.json, for
//      `kube-image-bouncer version`. Without git (a source tarball, a container build that leaves
//      .git out) it records no commit rather than failing.
const { execFileSync } = require('node:child_process');
const { chmodSync, statSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const { bin } = require(join(root, 'package.json'));
for (const path of Object.values(bin)) {
  const file = join(root, path);
  // r-x for whoever may read it: the same bits npm gives a bin it installs.
  const mode = statSync(file).mode & 0o777;
  chmodSync(file, mode | ((mode & 0o444) >> 2));
}

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
process.stdout.write(
  `wrote ${target} (commit ${commit ?? 'unknown'}); ${Object.values(bin).join(', ')} executable\n`,
);
