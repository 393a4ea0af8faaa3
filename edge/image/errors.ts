export type ImageErrorCode = 'invalid_image' | 'unsupported_media_type' | 'image_too_large';

/** A client-caused image problem; `code` maps to the API's error envelope (400 / 415 / 413). */
export class ImageError extends Error {
  readonly code: ImageErrorCode;

  constructor(code: ImageErrorCode, message: string) {
    super(message);
    this.name = 'ImageError';
    this.code = code;
  }
}
