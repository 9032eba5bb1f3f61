/**
 * Stratum V1 error codes as pools use them (slush's docs; public-pool and
 * ckpool agree). Sent as `"error": [code, message, null]`.
 */
export const StratumError = {
  OTHER: 20,
  JOB_NOT_FOUND: 21,
  DUPLICATE_SHARE: 22,
  LOW_DIFFICULTY: 23,
  UNAUTHORIZED_WORKER: 24,
  NOT_SUBSCRIBED: 25,
} as const;

export type StratumErrorCode = (typeof StratumError)[keyof typeof StratumError];
