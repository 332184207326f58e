/**
 * How every jest tier compiles TypeScript: swc, one file at a time and without type-checking.
 * `tsc --noEmit` checks every type once, in the type-check tier of `npm run test:all`, so jest need
 * not check them again per spec file, which ts-jest did at several seconds a file. Decorators are
 * the legacy kind with their metadata, which Nest's dependency injection reads (tsconfig.json says
 * the same to tsc).
 */
module.exports = {
  '^.+\\.ts$': [
    '@swc/jest',
    {
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true },
        target: 'es2023',
        keepClassNames: true,
      },
      module: { type: 'commonjs' },
      sourceMaps: 'inline',
    },
  ],
};
