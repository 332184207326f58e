// Liveness and readiness, and the serving state they report.
export { HealthController } from './health.controller';
export { HealthModule } from './health.module';
export { ServingState } from './serving-state';
export type { ServingStateSnapshot } from './serving-state';
