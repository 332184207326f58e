// What this build is: its version and the commit it was built from. The CLI prints it (`version`,
// SARIF's driver), and metrics export it as kube_image_bouncer_build_info.
export { buildInfo } from './build-info';
export type { BuildInfo } from './build-info';
export { packageVersion } from './package-version';
