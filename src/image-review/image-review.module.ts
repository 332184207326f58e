import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { AuditModule } from '../audit';
import { JsonContentTypeMiddleware } from '../http';
import { PolicyController } from './policy.controller';
import { PolicyModule } from '../policy';

/** The ImagePolicyWebhook endpoints over the policy engine. */
@Module({
  imports: [PolicyModule, AuditModule],
  controllers: [PolicyController],
})
export class ImageReviewModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(JsonContentTypeMiddleware).forRoutes(PolicyController);
  }
}
