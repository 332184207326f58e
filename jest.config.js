/** Unit specs live beside the code; e2e specs live in test/. Both run by `npm test`. */
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] };

module.exports = {
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      rootDir: '.',
      testMatch: ['<rootDir>/src/**/*.spec.ts'],
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
  ],
};
