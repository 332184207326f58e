import { Equals, IsArray, IsObject, IsOptional, IsString, ValidateNested } from 'class-validator';
import { EnvelopeField, IsStringMap, NestedEnvelope, OpaqueJson } from '../../http';

export const IMAGE_REVIEW_API_VERSION = 'imagepolicy.k8s.io/v1alpha1';
export const IMAGE_REVIEW_KIND = 'ImageReview';

// Wire format: k8s.io/api/imagepolicy/v1alpha1/types.go. Only the fields we read are modelled;
// anything else in the body is left alone, because the apiserver adds fields over time.

export class ImageReviewContainerSpecDto {
  @EnvelopeField()
  @IsString()
  image!: string;
}

export class ImageReviewSpecDto {
  // class-validator runs the decorator nearest the property first; with stopAtFirstError the
  // shape check must come before the per-element checks.
  @NestedEnvelope(() => ImageReviewContainerSpecDto)
  @ValidateNested({ each: true })
  @IsObject({ each: true, message: '$property must contain only objects' })
  @IsArray()
  containers!: ImageReviewContainerSpecDto[];

  @OpaqueJson()
  @IsOptional()
  @IsStringMap()
  annotations?: Record<string, string>;

  @EnvelopeField()
  @IsOptional()
  @IsString()
  namespace?: string;
}

export class ImageReviewDto {
  @EnvelopeField()
  @Equals(IMAGE_REVIEW_API_VERSION, { message: `apiVersion must be ${IMAGE_REVIEW_API_VERSION}` })
  apiVersion!: string;

  @EnvelopeField()
  @Equals(IMAGE_REVIEW_KIND, { message: `kind must be ${IMAGE_REVIEW_KIND}` })
  kind!: string;

  @NestedEnvelope(() => ImageReviewSpecDto)
  @ValidateNested()
  @IsObject()
  spec!: ImageReviewSpecDto;
}
