import { Context, Data, Effect, Layer } from "effect"
import type { ServiceUnavailable } from "../api/Errors.ts"
import { Audit } from "../audit/Audit.ts"
import type { AuthRequestId } from "../domain/Ids.ts"
import type { Policy } from "../domain/TenantSettings.ts"
import type { Check, Decision } from "../limits/RateLimiter.ts"
import { RateLimiter } from "../limits/RateLimiter.ts"
import { Transaction } from "../platform/Transaction.ts"
import { type Confirmed, Sessions, type SignedIn } from "../sessions/Sessions.ts"
import { loginFailed } from "../webhooks/AuthEvents.ts"
import { Events } from "../webhooks/Events.ts"
import { type AuthRequestRow, CodeStore, type ConsumeResult, type Key, type Proof } from "./CodeStore.ts"

export interface Attempt {
  readonly key: Key
  /** The request (by id, or by its link with a link proof) and the proof. */
  readonly target: Target | Latest
  /** The email the caller gave (normalised), checked against an SMS request's bound email (Auth1). */
  readonly email: string | null
  readonly policy: Policy
  readonly client: { readonly ip: string | null; readonly userAgent: string | null }
  /** The guess limit of the request's identifier (Limits.verifyCheck). */
  readonly check: (identifier: string) => Check
  readonly now: Date
  /** false: prove the code and the user, open no session (Passwordless.confirm). Default true. */
  readonly issueSession?: boolean
}

export interface Target {
  readonly _tag: "Target"
  readonly id: AuthRequestId | null
  readonly proof: Proof
}

/** A code sent without an id: it is for the identifier's newest unverified request, hashed with that id. */
export interface Latest {
  readonly _tag: "Latest"
  readonly identifier: string
  /** `identifier` is an email an SMS request was bound to (verify `{email, code, channel: "sms"}`). */
  readonly boundEmail?: boolean
  readonly hash: (id: AuthRequestId) => Uint8Array
}

/** The request a `Latest` target means (one read); undefined when the identifier has none. */
export const resolve = (store: CodeStore["Service"], key: Key, target: Target | Latest) =>
  Effect.gen(function* () {
    if (target._tag === "Target") return target
    const latest = yield* store.latestFor(key, target.identifier, target.boundEmail)
    if (latest === undefined) return undefined
    return { _tag: "Target", id: latest.id, proof: { _tag: "Code", hash: target.hash(latest.id) } } satisfies Target
  })

export type Attempted =
  /** The code matched: `signedIn` holds a session unless the attempt asked for none (`issueSession: false`). */
  | { readonly _tag: "SignedIn"; readonly request: AuthRequestRow; readonly signedIn: SignedIn | Confirmed; readonly decision: Decision }
  /** A wrong guess, counted, recorded against the identifier and audited. */
  | { readonly _tag: "Invalid"; readonly attemptsRemaining: number; readonly decision: Decision }
  /** The identifier's guess limit refused it: nothing was counted or changed. */
  | { readonly _tag: "Refused"; readonly decision: Decision }
  /** An SMS request bound to an email, verified with another (or none): no attempt was counted. */
  | { readonly _tag: "WrongEmail" }
  | Exclude<ConsumeResult, { readonly _tag: "Verified" | "Invalid" }>

/**
 * A verify's writes as one atomic step: the attempt (single use, attempt cap, identifier lock), the
 * identifier's guess limit, and then either the sign-in (user upsert, session, refresh token, login
 * events, failure reset, audit) or the wrong guess (failure count and lock, `login.failed` event,
 * audit). On PostgreSQL the writes are one statement (VerifyStorePg.ts) and the JWTs are signed after;
 * `layerComposed` is the same rules over the other services, the reference the tests hold both to.
 */
export class VerifyStore extends Context.Service<VerifyStore, {
  readonly verify: (attempt: Attempt) => Effect.Effect<Attempted, ServiceUnavailable>
}>()("sesame/VerifyStore") {}

/** What the sign-in and failure events say about the request (Auth1's webhook data). */
export const requestFacts = (row: AuthRequestRow) => ({
  email: row.email,
  riskScore: row.riskScore ?? null,
  isVoip: row.channel === "sms" ? (row.riskSignals ?? []).includes("line_type:voip") : null
})

class Refusal extends Data.TaggedError("Refusal")<{ readonly decision: Decision }> {}

export const layerComposed = Layer.effect(VerifyStore)(Effect.gen(function* () {
  const store = yield* CodeStore
  const limiter = yield* RateLimiter
  const events = yield* Events
  const sessions = yield* Sessions
  const audit = yield* Audit
  const tx = yield* Transaction

  const verify = Effect.fn("VerifyStore.verify")(function* (attempt: Attempt) {
    const { key, policy, now } = attempt
    const target = yield* resolve(store, key, attempt.target)
    if (target === undefined) return { _tag: "NotFound" } as const
    // the request as sent: for the bound-email rule and what the events say about it
    const sent = target.id === null ? undefined : yield* store.get(key, target.id)
    // An SMS sent with a bound email (Auth1) verifies only with that same email; no attempt is counted.
    if (target.proof._tag === "Code" && sent !== undefined && sent.channel === "sms" && sent.email !== null && attempt.email !== sent.email) {
      return { _tag: "WrongEmail" } as const
    }
    const amr = target.proof._tag === "Link" ? ["link"] : undefined
    // Consuming the code, the guess limit, the user upsert, the session and the events commit together or not at all.
    const outcome = yield* tx.run(Effect.gen(function* () {
      const result = yield* store.consume(key, target, now)
      if (result._tag !== "Verified" && result._tag !== "Invalid") return { result, decision: undefined, signedIn: undefined }
      // Guesses per identifier, counted in the same transaction: a refused verify rolls back, so its
      // guess never counted, and the caller learns nothing about the code.
      const identifier = result._tag === "Verified" ? result.request.identifier : result.identifier
      const decision = yield* limiter.take(key.tenantId, [attempt.check(identifier)], now.getTime())
      if (!decision.allowed) return yield* new Refusal({ decision })
      if (result._tag === "Invalid") {
        // The webhook event commits with the wrong guess it reports (#6).
        yield* events.record(loginFailed(key, result, target, attempt.client.ip, sent === undefined ? undefined : requestFacts(sent)), now)
        return { result, decision, signedIn: undefined }
      }
      const row = result.request
      const methods = amr ?? ["otp", row.channel]
      const input = {
        tenantId: key.tenantId, mode: key.mode, channel: row.channel, email: row.email, phone: row.phone, amr: methods,
        clientIp: attempt.client.ip ?? row.clientIp, userAgent: attempt.client.userAgent ?? row.userAgent, policy,
        approval: row.approval, request: requestFacts(row)
      }
      const session = attempt.issueSession === false ? undefined : yield* sessions.signIn(input)
      const signedIn: SignedIn | Confirmed = session ?? (yield* sessions.confirm(input))
      yield* store.resetFailures(key, row.identifier, now)
      yield* audit.record({
        tenantId: key.tenantId, mode: key.mode, type: "login.success", subject: signedIn.user.id,
        details: { authRequestId: row.id, userId: signedIn.user.id, sessionId: session?.session.id ?? null, amr: methods }
      })
      return { result, decision, signedIn }
    })).pipe(Effect.catchTag("Refusal", ({ decision }) => Effect.succeed({ refused: decision })))
    if ("refused" in outcome) return { _tag: "Refused", decision: outcome.refused } as const
    const { result, decision, signedIn } = outcome
    if (result._tag === "Verified") {
      if (signedIn === undefined || decision === undefined) return yield* Effect.die(new Error("verified without a session"))
      return { _tag: "SignedIn", request: result.request, signedIn, decision } as const
    }
    if (result._tag !== "Invalid") return result
    if (decision === undefined) return yield* Effect.die(new Error("a wrong guess without its limit"))
    const locked = yield* store.recordFailure(key, result.identifier, {
      maxFailures: policy.maxFailuresPerIdentifier, lockMs: policy.identifierLockSeconds * 1000
    }, now)
    yield* audit.record({ ...key, type: "login.failed", subject: target.id, details: { reason: "CODE_INVALID", attemptsRemaining: result.attemptsRemaining } })
    if (result.attemptsRemaining === 0) yield* audit.record({ ...key, type: "auth_request.locked", subject: target.id, details: {} })
    if (locked) {
      yield* audit.record({ ...key, type: "identifier.locked", subject: target.id, details: { lockSeconds: policy.identifierLockSeconds } })
    }
    return { _tag: "Invalid", attemptsRemaining: result.attemptsRemaining, decision } as const
  })

  return VerifyStore.of({ verify })
}))
