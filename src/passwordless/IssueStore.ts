import { Context, Effect, Layer } from "effect"
import type { ServiceUnavailable } from "../api/Errors.ts"
import type { MessageId } from "../domain/Ids.ts"
import { Outbox, type NewMessage } from "../delivery/Outbox.ts"
import type { Check, Decision } from "../limits/RateLimiter.ts"
import { RateLimiter } from "../limits/RateLimiter.ts"
import { Transaction } from "../platform/Transaction.ts"
import { type AuthRequestRow, CodeStore } from "./CodeStore.ts"

export interface Issue {
  readonly row: AuthRequestRow
  readonly message: NewMessage
  readonly checks: ReadonlyArray<Check>
  readonly now: Date
}

export interface Issued {
  /** The limits' verdict; when refused, nothing was written and nothing counted. */
  readonly decision: Decision
  /** The outbox row, when admitted. */
  readonly messageId: MessageId | undefined
}

/**
 * A send's writes as one atomic step: the request is counted against its limits and, only if every
 * limit admits it, its auth request and outbox message are written. On PostgreSQL this is one
 * statement (IssueStorePg.ts); `layerComposed` is the same rule over the other stores.
 */
export class IssueStore extends Context.Service<IssueStore, {
  readonly issue: (input: Issue) => Effect.Effect<Issued, ServiceUnavailable>
}>()("sesame/IssueStore") {}

/** The limiter, then the insert and the enqueue in one transaction: the reference for the one-statement layer. */
export const layerComposed = Layer.effect(IssueStore)(Effect.gen(function* () {
  const limiter = yield* RateLimiter
  const store = yield* CodeStore
  const outbox = yield* Outbox
  const tx = yield* Transaction
  return IssueStore.of({
    issue: ({ row, message, checks, now }) =>
      Effect.gen(function* () {
        const decision = yield* limiter.take(row.tenantId, checks, now.getTime())
        if (!decision.allowed) return { decision, messageId: undefined }
        const messageId = yield* tx.run(Effect.andThen(store.insert(row), outbox.enqueue(message, now)))
        return { decision, messageId }
      })
  })
}))
