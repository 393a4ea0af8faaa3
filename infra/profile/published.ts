// Published ImageNet top-1 (%) of the pretrained weights `npm run models -- fetch` downloads: timm's
// tf_efficientnet_bN.ns_jft_in1k at the catalog's crop. Custom-phi models have none (untrained here).
import type { Variant } from '../../shared/efficientnet/variants.ts';

export const PUBLISHED_TOP1: Readonly<Record<Variant, number>> = {
  b0: 78.68,
  b1: 81.39,
  b2: 82.41,
  b3: 84.05,
  b4: 85.16,
  b5: 86.1,
  b6: 86.48,
  b7: 86.85,
};
