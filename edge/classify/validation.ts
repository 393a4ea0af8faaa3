// Validation failures of the two classify routes as our envelope: what is wrong with the images is a
// request problem (invalid_request), anything else a parameter problem (invalid_parameter). Several
// images sent to POST /v1/classify are pointed to the batch route.
import type { z } from '@hono/zod-openapi';
import { describeIssues } from '../../shared/api/errors.ts';
import { ApiError } from '../../shared/http/errors.ts';

const IMAGE_FIELDS = new Set<PropertyKey>(['image', 'images', 'image_url']);

type Result = { success: true } | { success: false; error: z.ZodError };

function aboutImages(issue: z.core.$ZodIssue): boolean {
  if (IMAGE_FIELDS.has(issue.path[0] ?? '')) return true;
  return issue.code === 'unrecognized_keys' && issue.keys.some((key) => IMAGE_FIELDS.has(key));
}

/** POST /v1/classify: a JSON `images` list or repeated `image` fields name the batch route. */
export function singleImageHook(result: Result): undefined {
  if (result.success) return;
  const { issues } = result.error;
  const several = issues.some(
    (issue) =>
      (issue.code === 'unrecognized_keys' && issue.keys.includes('images')) ||
      (issue.path[0] === 'image' && issue.code === 'invalid_type' && issue.message.includes('array')),
  );
  if (several)
    throw new ApiError(
      'invalid_request',
      'POST /v1/classify takes one image; send several to POST /v1/classify/batch.',
    );
  throw new ApiError(
    issues.some(aboutImages) ? 'invalid_request' : 'invalid_parameter',
    describeIssues(issues),
  );
}

/** POST /v1/classify/batch: the list itself (its length, its entries' fields) is a request problem. */
export function batchHook(result: Result): undefined {
  if (result.success) return;
  const { issues } = result.error;
  throw new ApiError(
    issues.some(aboutImages) ? 'invalid_request' : 'invalid_parameter',
    describeIssues(issues),
  );
}
