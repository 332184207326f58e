import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { AdmissionModule } from './admission/admission.module';
import { AuditModule } from './audit/audit.module';
import { AllConfigType } from './config/bouncer-config';
import { HealthModule } from './health/health.module';
import { ReviewHttpModule } from './http/review-http.module';
import { MetricsModule } from './metrics/metrics.module';
import { ImageReviewModule } from './image-review';
import { TlsModule } from './tls/tls.module';

@Module({})
export class AppModule {
  /** The configuration is resolved and validated before Nest starts; the module only carries it. */
  static forRoot(config: AllConfigType): DynamicModule {
    return {
      module: AppModule,
      imports: [
        // Global by design: the configuration is validated once, before Nest starts, and read everywhere.
        ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: [() => config] }),
        ReviewHttpModule,
        TlsModule,
        MetricsModule,
        AuditModule,
        ImageReviewModule,
        AdmissionModule,
        HealthModule,
      ],
    };
  }
}
