// Accuracy tiers a request can choose. The routing that follows from them lives in escalation.ts.
export const TIERS = ['fast', 'balanced', 'auto', 'accurate', 'max'] as const;
export type Tier = (typeof TIERS)[number];
export const DEFAULT_TIER: Tier = 'auto';
