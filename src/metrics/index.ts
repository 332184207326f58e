// Metrics as other features see them: the service a worker's registry lives in, and what a
// cluster's primary needs to sum workers' metrics and count file changes once.
export { MetricsModule } from './metrics.module';
export {
  CERTIFICATE_ROTATIONS,
  MetricsService,
  POLICY_RELOADS,
  PROCESS_LABEL,
  workerProcessName,
} from './metrics.service';
