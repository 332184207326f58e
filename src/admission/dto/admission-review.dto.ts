import {
  Equals,
  IsBoolean,
  IsIn,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  ValidateNested,
} from 'class-validator';
import { EnvelopeField, NestedEnvelope, OpaqueJson } from '../../http';

export const ADMISSION_API_VERSIONS = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'] as const;
export type AdmissionApiVersion = (typeof ADMISSION_API_VERSIONS)[number];
export const ADMISSION_REVIEW_KIND = 'AdmissionReview';
export const ADMISSION_OPERATIONS = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'] as const;
export type AdmissionOperation = (typeof ADMISSION_OPERATIONS)[number];

// Wire format: k8s.io/api/admission/v1/types.go (v1beta1 is the same shape). Only the envelope is
// modelled: the object and oldObject pass through untouched and unvalidated, and their container
// lists are checked as they are read (see pod-spec.ts). Validating a whole Pod here would cost
// milliseconds per review and drop fields from newer Kubernetes releases.

export class GroupVersionKindDto {
  @EnvelopeField()
  @IsString()
  group!: string;

  @EnvelopeField()
  @IsString()
  version!: string;

  @EnvelopeField()
  @IsString()
  @IsNotEmpty()
  kind!: string;
}

export class AdmissionRequestDto {
  @EnvelopeField()
  @IsString()
  @IsNotEmpty()
  uid!: string;

  @NestedEnvelope(() => GroupVersionKindDto)
  @ValidateNested()
  @IsObject()
  kind!: GroupVersionKindDto;

  @EnvelopeField()
  @IsOptional()
  @IsString()
  subResource?: string;

  @EnvelopeField()
  @IsIn(ADMISSION_OPERATIONS, { message: `operation must be one of ${ADMISSION_OPERATIONS.join(', ')}` })
  operation!: AdmissionOperation;

  @EnvelopeField()
  @IsOptional()
  @IsString()
  namespace?: string;

  @EnvelopeField()
  @IsOptional()
  @IsString()
  name?: string;

  /** Null for DELETE; required for CREATE and UPDATE, which the review service checks. */
  @OpaqueJson()
  @IsOptional()
  @IsObject()
  object?: Record<string, unknown> | null;

  @OpaqueJson()
  @IsOptional()
  @IsObject()
  oldObject?: Record<string, unknown> | null;

  @EnvelopeField()
  @IsOptional()
  @IsBoolean()
  dryRun?: boolean;
}

export class AdmissionReviewDto {
  @EnvelopeField()
  @IsIn(ADMISSION_API_VERSIONS, { message: `apiVersion must be one of ${ADMISSION_API_VERSIONS.join(', ')}` })
  apiVersion!: AdmissionApiVersion;

  @EnvelopeField()
  @Equals(ADMISSION_REVIEW_KIND, { message: `kind must be ${ADMISSION_REVIEW_KIND}` })
  kind!: string;

  @NestedEnvelope(() => AdmissionRequestDto)
  @ValidateNested()
  @IsObject()
  request!: AdmissionRequestDto;
}
