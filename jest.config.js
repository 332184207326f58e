/**
 * Unit specs live beside the code; e2e specs live in test/; the adversarial suite (a hostile
 * registry, signer or pod author, one spec per class of attack) lives in test/adversarial. All three
 * run by `npm test`.
 */
const transform = require('./jest.swc-transform');

// A guard against a hang, never a pace: e2e specs start the built CLI, which takes well over
// jest's default 5 s on a busy machine (seen under stress-ng --cpu 2 on Node 24).
const testTimeout = 60_000;

module.exports = {
  testTimeout,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      rootDir: '.',
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
      testMatch: ['<rootDir>/test/adversarial/**/*.adversarial-spec.ts'],
      moduleFileExtensions: ['js', 'json', 'ts'],
      setupFiles: ['reflect-metadata'],
      transform,
    },
  ],
};
