import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { AdmissionModule } from './admission';
import { AuditModule } from './audit';
import { AllConfigType } from './config';
import { HealthModule } from './health';
import { ReviewHttpModule } from './http';
import { MetricsModule } from './metrics';
import { ImageReviewModule } from './image-review';
import { TlsModule } from './tls';

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
