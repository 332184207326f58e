// e2e specs that run the CLI start the built `dist/main.js`, exactly as users and the Dockerfile do.
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');

module.exports = function buildDist() {
  const root = join(__dirname, '..', '..');
  execFileSync(process.execPath, [join(root, 'node_modules', '@nestjs', 'cli', 'bin', 'nest.js'), 'build'], {
    cwd: root,
    stdio: 'inherit',
  });
  // As `npm run build` does: the bin executable, and `version` reporting the commit as an installed build does.
  execFileSync(process.execPath, [join(root, 'scripts', 'finish-build.js')], {
    cwd: root,
    stdio: 'ignore',
  });
};
