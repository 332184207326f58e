import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { JsonContentTypeMiddleware } from '../http/json-content-type.middleware';
import { ImagePolicyService } from './image-policy.service';
import { PolicyController } from './policy.controller';
import { IMAGE_RULE_TYPES, imageRulesProvider } from './rules';

@Module({
  controllers: [PolicyController],
  providers: [...IMAGE_RULE_TYPES, imageRulesProvider, ImagePolicyService],
  exports: [ImagePolicyService],
})
export class PolicyModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(JsonContentTypeMiddleware).forRoutes(PolicyController);
  }
}
