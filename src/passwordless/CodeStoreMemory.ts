import { Effect, Layer } from "effect"
import type { AuthRequestRow, Key } from "./CodeStore.ts"
import { CodeStore, ConsumeResult, ResendResult } from "./CodeStore.ts"
import { constantTimeEqual } from "../platform/Crypto.ts"
import { blocked } from "./Rules.ts"

/** The in-memory CodeStore: the reference semantics the PostgreSQL layer is held to by the contract suite. */
export const make = Effect.sync(() => {
  const rows = new Map<string, AuthRequestRow>()
  const failures = new Map<string, { failures: number; lockedUntil: Date | null }>()
  const k = (key: Key, id: string) => `${key.tenantId}\u0000${id}`
  const fk = (key: Key, identifier: string) => `${key.tenantId}\u0000${key.mode}\u0000${identifier}`
  const visible = (key: Key, row: AuthRequestRow | undefined) =>
    row !== undefined && row.tenantId === key.tenantId && row.mode === key.mode ? row : undefined
  const eq = (a: Uint8Array | null, b: Uint8Array) => a !== null && constantTimeEqual(a, b)
  const linkMatches = (row: AuthRequestRow, hash: Uint8Array) =>
    eq(row.linkHash, hash) || (row.keptLinkHashes ?? []).some((h) => eq(h, hash))

  return CodeStore.of({
    insert: (row) => Effect.sync(() => void rows.set(k(row, row.id), row)),
    get: (key, id) => Effect.sync(() => visible(key, rows.get(k(key, id)))),
    latestFor: (key, identifier, boundEmail) =>
      Effect.sync(() => {
        let best: AuthRequestRow | undefined
        for (const row of rows.values()) {
          if (row.tenantId !== key.tenantId || row.mode !== key.mode) continue
          if (boundEmail === true ? row.channel !== "sms" || row.email !== identifier : row.identifier !== identifier) continue
          if (row.verifiedAt !== null) continue
          if (best === undefined || row.createdAt.getTime() > best.createdAt.getTime()) best = row
        }
        return best
      }),
    consume: (key, target, now) =>
      Effect.sync(() => {
        let row: AuthRequestRow | undefined
        if (target.proof._tag === "Link") {
          // a link is found by its hash; with an id it must also be that request's link
          const hash = target.proof.hash
          for (const r of rows.values()) if (visible(key, r) && linkMatches(r, hash)) row = r
          if (row !== undefined && target.id !== null && row.id !== target.id) return ConsumeResult.OriginMismatch()
        } else if (target.id !== null) {
          row = visible(key, rows.get(k(key, target.id)))
        }
        if (row === undefined) return ConsumeResult.NotFound()
        const lock = failures.get(fk(key, row.identifier))?.lockedUntil ?? null
        const reason = blocked(row, now, lock)
        if (reason !== undefined) return reason
        const proof = target.proof
        const ok = proof._tag === "Code"
          ? eq(row.codeHash, proof.hash) || (row.keptCodeHashes ?? []).some((h) => eq(h, proof.hash))
          : linkMatches(row, proof.hash) && (row.codeChallenge === null || row.codeChallenge === proof.challenge)
        const attempts = row.attempts + 1
        const updated: AuthRequestRow = {
          ...row, attempts, verifiedAt: ok ? now : null, sealedCredentials: ok ? null : row.sealedCredentials ?? null
        }
        rows.set(k(key, row.id), updated)
        return ok
          ? ConsumeResult.Verified({ request: updated })
          : ConsumeResult.Invalid({ attemptsRemaining: row.maxAttempts - attempts, identifier: row.identifier })
      }),
    recordFailure: (key, identifier, policy, now) =>
      Effect.sync(() => {
        const current = failures.get(fk(key, identifier)) ?? { failures: 0, lockedUntil: null }
        const n = current.failures + 1
        failures.set(
          fk(key, identifier),
          n >= policy.maxFailures
            ? { failures: 0, lockedUntil: new Date(now.getTime() + policy.lockMs) }
            : { failures: n, lockedUntil: current.lockedUntil }
        )
        return n >= policy.maxFailures
      }),
    resetFailures: (key, identifier) => Effect.sync(() => void failures.delete(fk(key, identifier))),
    resend: (key, id, update, now) =>
      Effect.sync(() => {
        const row = visible(key, rows.get(k(key, id)))
        if (row === undefined) return ResendResult.NotFound()
        const reason = blocked(row, now, failures.get(fk(key, row.identifier))?.lockedUntil ?? null)
        if (reason !== undefined) {
          return reason._tag === "AlreadyUsed" ? ResendResult.AlreadyUsed()
            : reason._tag === "Expired" ? ResendResult.Expired()
            : ResendResult.Locked({ retryAfterMs: reason._tag === "Locked" ? reason.retryAfterMs : 0 })
        }
        const wait = row.lastSentAt.getTime() + update.cooldownMs - now.getTime()
        if (wait > 0) return ResendResult.TooSoon({ retryAfterMs: wait })
        if (row.resends >= update.maxResends) return ResendResult.TooMany()
        const updated: AuthRequestRow = {
          ...row,
          codeHash: update.codeHash ?? row.codeHash,
          linkHash: update.linkHash ?? row.linkHash,
          ...(update.keep === true ? {
            keptCodeHashes: [...row.keptCodeHashes ?? [], ...(row.codeHash !== null && update.codeHash !== null ? [row.codeHash] : [])],
            keptLinkHashes: [...row.keptLinkHashes ?? [], ...(row.linkHash !== null && update.linkHash !== null ? [row.linkHash] : [])]
          } : {}),
          resends: row.resends + 1,
          lastSentAt: now
        }
        rows.set(k(key, id), updated)
        return ResendResult.Resent({ request: updated })
      })
  })
})

export const layer = Layer.effect(CodeStore)(make)
