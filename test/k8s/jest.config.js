/**
 * The Kubernetes conformance tier: real etcd, kube-apiserver and kube-controller-manager against the built
 * bouncer. Not part of `npm test`; run with `npm run test:k8s` (test/k8s/run-conformance.sh).
 */
module.exports = {
  displayName: 'k8s',
  testEnvironment: 'node',
  rootDir: '../..',
  testMatch: ['<rootDir>/test/k8s/**/*.k8s-spec.ts'],
  moduleFileExtensions: ['js', 'json', 'ts'],
  setupFiles: ['reflect-metadata'],
  transform: require('../../jest.swc-transform'),
  // One control plane serves every scenario of a file; files run one at a time.
  maxWorkers: 1,
  testTimeout: 120_000,
  slowTestThreshold: 60,
};
