// Placeholder until images by URL are supported: every image_url is refused with a 400 of its own.
import { ApiError } from '../../shared/http/errors.ts';

export async function loadImageUrl(_env: Env, _url: string): Promise<Uint8Array> {
  throw new ApiError('invalid_parameter', 'image_url is not supported yet.');
}
