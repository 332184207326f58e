/**
 * Unit specs live beside the code; e2e specs live in test/; the adversarial suite (a hostile
 * registry, signer or pod author, one spec per class of attack) lives in test/adversarial. All three
 * run by `npm test`.
 */
const transform = require('./jest.swc-transform');

// A guard against a hang, never a pace: e2e specs start the built CLI, which takes well over
// jest's default 5 s on a busy machine (seen under stress-ng --cpu 2 on Node 24).
const testTimeout = 60_000;

// The bench's build carries a copy of package.json, which jest's module map would see as a second
// package of the same name.
const modulePathIgnorePatterns = ['<rootDir>/.bench-build/'];

/** The projects a run was narrowed to with --selectProjects, or undefined for every project. */
function selectedProjects(argv) {
  const at = argv.findIndex((arg) => arg === '--selectProjects' || arg.startsWith('--selectProjects='));
  if (at < 0) return undefined;
  if (argv[at].includes('=')) return argv[at].split('=')[1].split(',');
  const names = [];
  for (const arg of argv.slice(at + 1)) {
    if (arg.startsWith('-')) break;
    names.push(arg);
  }
  return names;
}

// Unit specs are pure CPU in their worker and start no process: a worker per core. jest's default
// (cores - 1) left one of this project's 2-core machines idle for the whole unit tier. Tiers that
// start servers keep the default, so their processes are not squeezed by a second worker.
const unitOnly = selectedProjects(process.argv)?.every((name) => name === 'unit') === true;

module.exports = {
  testTimeout,
  ...(unitOnly ? { maxWorkers: '100%' } : {}),
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      rootDir: '.',
      modulePathIgnorePatterns,
      // bench/: the pure parts of the benches (their arithmetic), which no spec may time.
      testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/bench/**/*.spec.ts'],
      moduleFileExtensions: ['js', 'json', 'ts'],
      setupFiles: ['reflect-metadata'],
      transform,
    },
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      rootDir: '.',
      modulePathIgnorePatterns,
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/support/build-dist.global-setup.js',
      moduleFileExtensions: ['js', 'json', 'ts'],
      setupFiles: ['reflect-metadata'],
      transform,
    },
    {
      displayName: 'adversarial',
      testEnvironment: 'node',
      rootDir: '.',
      modulePathIgnorePatterns,
      testMatch: ['<rootDir>/test/adversarial/**/*.adversarial-spec.ts'],
      moduleFileExtensions: ['js', 'json', 'ts'],
      setupFiles: ['reflect-metadata'],
      transform,
    },
  ],
};
