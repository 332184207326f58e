/**
 * The robustness tier (`npm run test:robust`): property-based and schema fuzzing, a soak, faults
 * under load and TLS refusals, against the built CLI as a process. Specs run one at a time, since
 * each loads the machine and some measure memory.
 */
const transform = require('../../jest.swc-transform');

module.exports = {
  displayName: 'robust',
  testEnvironment: 'node',
  rootDir: '../..',
  testMatch: ['<rootDir>/test/robust/**/*.robust-spec.ts'],
  globalSetup: '<rootDir>/test/support/build-dist.global-setup.js',
  moduleFileExtensions: ['js', 'json', 'ts'],
  setupFiles: ['reflect-metadata'],
  transform,
  maxWorkers: 1,
  testTimeout: 120_000,
};
