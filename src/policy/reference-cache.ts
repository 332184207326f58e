import { ImageReference, InvalidImageReferenceError, parseNormalizedReference } from '../image-reference';

/** A cluster runs a few thousand distinct images; this holds them all and bounds memory. */
const MAX_ENTRIES = 10_000;
/** Longer strings are parsed every time, so a hostile multi-megabyte "image" is never kept. */
const MAX_CACHED_LENGTH = 512;

/**
 * Parsed images by their string, least recently used evicted first. Parsing is pure, so a cached
 * result (reference or error) is exactly what parsing again would give.
 */
export class ReferenceCache {
  private readonly entries = new Map<string, ImageReference | InvalidImageReferenceError>();

  constructor(private readonly maxEntries = MAX_ENTRIES) {}

  /** The normalized reference, or throws the same InvalidImageReferenceError parsing throws. */
  parse(image: string): ImageReference {
    const cached = this.entries.get(image);
    if (cached !== undefined) {
      // Re-inserting moves the entry to the young end of the Map's insertion order.
      this.entries.delete(image);
      this.entries.set(image, cached);
      if (cached instanceof InvalidImageReferenceError) throw cached;
      return cached;
    }
    let result: ImageReference | InvalidImageReferenceError;
    try {
      result = parseNormalizedReference(image);
    } catch (error) {
      if (!(error instanceof InvalidImageReferenceError)) throw error;
      result = error;
    }
    if (image.length <= MAX_CACHED_LENGTH) {
      this.entries.set(image, result);
      if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    }
    if (result instanceof InvalidImageReferenceError) throw result;
    return result;
  }

  get size(): number {
    return this.entries.size;
  }
}
