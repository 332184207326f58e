export { InvalidImageReferenceError, type ImageReferenceErrorCode } from './image-reference.errors';
export {
  formatReference,
  parseReference,
  referenceName,
  repositoryNameTotalLengthMax,
  withDigest,
  withTag,
  type ImageReference,
} from './image-reference';
export {
  familiarName,
  familiarString,
  parseAnyReference,
  parseCanonicalReference,
  parseDockerReference,
  parseNormalizedReference,
  withDefaultTag,
} from './normalize';
export {
  anchoredDigestRegexp,
  anchoredDomainRegexp,
  anchoredIdentifierRegexp,
  anchoredNameRegexp,
  anchoredTagRegexp,
  referenceRegexp,
} from './reference-grammar';
export { DISTRIBUTION_REFERENCE } from './upstream';
