// The server's configuration as other features see it: validated once at boot into a typed object.
export {
  DEFAULT_CERTIFICATE_EXPIRY_WARNING,
  DEFAULT_HOST,
  DEFAULT_PORT,
  LOG_LEVELS,
  SERVE_ENVIRONMENT,
  serveOptionsFromEnvironment,
} from './bouncer-config';
export type { AllConfigType, LogConfig, ServerConfig, TlsConfig } from './bouncer-config';
export { closestName } from './closest-name';
export { formatDuration, parseDuration } from './duration';
export { unreadableFileProblem } from './readable-file';
export { InvalidConfigError, resolveBouncerConfig } from './resolve-bouncer-config';
