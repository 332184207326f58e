/**
 * The registry tier (`npm run test:registry`): the bouncer against Debian's docker-registry
 * (distribution 2.8) on loopback, with images pushed by crane and signed by cosign, both built from
 * the Go module proxy (test/tools/go-tool.sh). Specs run one at a time: each starts registries.
 */
const transform = require('../../jest.swc-transform');

module.exports = {
  displayName: 'registry',
  testEnvironment: 'node',
  rootDir: '../..',
  testMatch: ['<rootDir>/test/registry/**/*.registry-spec.ts'],
  moduleFileExtensions: ['js', 'json', 'ts'],
  setupFiles: ['reflect-metadata'],
  transform,
  maxWorkers: 1,
  testTimeout: 120_000,
};
