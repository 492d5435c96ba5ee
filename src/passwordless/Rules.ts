import type { AuthRequestRow, ConsumeResult } from "./CodeStore.ts"
import { ConsumeResult as R } from "./CodeStore.ts"

/**
 * Why a request cannot be consumed at `now`, in the order a caller should hear it: used, then
 * expired (`now >= expiresAt`: the last valid instant is one millisecond before), then locked.
 * Undefined means a proof would be checked.
 */
export const blocked = (row: AuthRequestRow, now: Date, identifierLockedUntil: Date | null): ConsumeResult | undefined => {
  if (row.verifiedAt !== null) return R.AlreadyUsed()
  if (now.getTime() >= row.expiresAt.getTime()) return R.Expired()
  if (row.attempts >= row.maxAttempts) return R.Locked({ retryAfterMs: row.expiresAt.getTime() - now.getTime() })
  if (identifierLockedUntil !== null && identifierLockedUntil.getTime() > now.getTime()) {
    return R.Locked({ retryAfterMs: identifierLockedUntil.getTime() - now.getTime() })
  }
  return undefined
}
