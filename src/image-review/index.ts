// The ImagePolicyWebhook adapter as the app sees it: its module, which serves ImageReview on the
// routes src/http/review-routes.ts names, over the policy engine.
export { ImageReviewModule } from './image-review.module';
export { PolicyController } from './policy.controller';
export { ImageReviewDto, IMAGE_REVIEW_API_VERSION, IMAGE_REVIEW_KIND } from './dto/image-review.dto';
export { toImageReviewResponse, denialReason } from './image-review-response';
export type { ImageReviewResponse } from './image-review-response';
