import { Context, type Effect, Schema } from "effect"
import type { ServiceUnavailable } from "../api/Errors.ts"
import type { AuthRequestId, Channel, MessageId, Mode, TenantId } from "../domain/Ids.ts"

/** The rendered message, sealed at rest (AES-256-GCM, bound to the message id) until it is delivered. */
export const MessagePayload = Schema.Struct({
  subject: Schema.String,
  fromName: Schema.String,
  text: Schema.String,
  html: Schema.String,
  replyTo: Schema.NullOr(Schema.String),
  hint: Schema.String
})
export type MessagePayload = typeof MessagePayload.Type

/**
 * A test-mode message is rendered when the test outbox is read, not when it is sent: nothing is ever
 * delivered for a test key, so the send stores only what the rendering needs (sealed like any
 * payload). `notice`: the "no account" email instead of the sign-in message (Enumeration.ts).
 */
export const DeferredPayload = Schema.Struct({
  deferred: Schema.Literal(true),
  code: Schema.NullOr(Schema.String),
  linkToken: Schema.NullOr(Schema.String),
  notice: Schema.Boolean
})
export type DeferredPayload = typeof DeferredPayload.Type

/** A test-mode message as stored: rendered already (older rows), or to be rendered on reading. */
export interface StoredTestMessage {
  readonly id: MessageId
  readonly authRequestId: AuthRequestId | null
  readonly channel: Channel
  readonly to: string
  readonly payload: MessagePayload | DeferredPayload | undefined
  readonly createdAt: Date
}

export interface NewMessage {
  readonly tenantId: TenantId
  readonly mode: Mode
  readonly authRequestId: AuthRequestId | null
  readonly channel: Channel
  readonly recipient: string
  readonly email: MessagePayload | DeferredPayload
  /**
   * A decoy's message (sign-up off, unknown address): written like any other so both paths do the
   * same work, but `suppressed` and never delivered (Enumeration.ts).
   */
  readonly suppressed: boolean
  /** The auth request's expiry: a message still undelivered by then is skipped, never sent. */
  readonly expiresAt: Date | null
}

export type MessageStatus = "queued" | "sending" | "sent" | "failed" | "skipped" | "suppressed"

export interface DeliveryStatus {
  readonly status: MessageStatus
  readonly provider: string | null
  readonly attempts: number
  readonly lastError: string | null
}

export interface MessageKey {
  readonly tenantId: TenantId
  readonly id: MessageId
}

/**
 * A row the caller now holds a lease on. `attempts` counts this attempt and doubles as a fencing
 * token: marks carry it, so a worker whose lease ran out cannot overwrite a newer attempt's result.
 * `Skipped` rows were expired at claim time and are already closed; there is nothing to deliver.
 * `Unreadable` rows have a payload that no longer opens (SESAME_SECRET changed): they can only fail.
 */
export type Claimed =
  | (MessageKey & {
    readonly _tag: "Deliver"
    readonly mode: Mode
    readonly authRequestId: AuthRequestId | null
    readonly channel: Channel
    readonly recipient: string
    readonly email: MessagePayload
    readonly attempts: number
  })
  | (MessageKey & { readonly _tag: "Skipped" })
  | (MessageKey & { readonly _tag: "Unreadable"; readonly attempts: number })

export interface ClaimOptions {
  readonly now: Date
  /** How long the claim holds before another worker may take the row again (a crashed worker's lease). */
  readonly leaseMs: number
  readonly limit: number
  /** Claim this message only (synchronous delivery). */
  readonly only?: MessageKey | undefined
}

/** The provider a test-mode message is recorded as sent by: nothing is delivered for test keys. */
export const TEST_OUTBOX = "test-outbox"

export class Outbox extends Context.Service<Outbox, {
  /**
   * Runs on the caller's SqlClient, so it joins the caller's `sql.withTransaction`. Test-mode
   * messages are written as already sent by `test-outbox`: nothing is delivered for test keys.
   */
  readonly enqueue: (message: NewMessage, now: Date) => Effect.Effect<MessageId, ServiceUnavailable>
  /** Test-mode messages of the tenant, newest first, decrypted (suppressed ones are not messages). */
  readonly listTest: (
    tenantId: TenantId,
    to: string | undefined,
    limit: number
  ) => Effect.Effect<ReadonlyArray<StoredTestMessage>, ServiceUnavailable>
  /** One test-mode message of the tenant, as `listTest` gives it (the console's email preview). */
  readonly testMessage: (tenantId: TenantId, id: MessageId) => Effect.Effect<StoredTestMessage | undefined, ServiceUnavailable>
  /** The newest message of the auth request. */
  readonly deliveryOf: (
    tenantId: TenantId,
    authRequestId: AuthRequestId
  ) => Effect.Effect<DeliveryStatus | undefined, ServiceUnavailable>
  readonly statusOf: (key: MessageKey) => Effect.Effect<DeliveryStatus | undefined, ServiceUnavailable>
  /** Claims up to `limit` due rows in one statement (`FOR UPDATE SKIP LOCKED`). */
  readonly claim: (options: ClaimOptions) => Effect.Effect<ReadonlyArray<Claimed>, ServiceUnavailable>
  /**
   * Extends a claim this worker still holds (`status = 'sending'` and the claim's `attempts`, the
   * fencing token) to `lockedUntil`; false when it no longer holds it.
   */
  readonly renew: (key: MessageKey, attempts: number, lockedUntil: Date) => Effect.Effect<boolean, ServiceUnavailable>
  /** Live messages lose their payload here: the code or link does not stay in the database after delivery. */
  readonly markSent: (key: MessageKey, provider: string, now: Date) => Effect.Effect<void, ServiceUnavailable>
  readonly markRetry: (
    key: MessageKey,
    attempts: number,
    nextAttemptAt: Date,
    error: string
  ) => Effect.Effect<void, ServiceUnavailable>
  /** Closes the message and raises `delivery.failed`, in one transaction. */
  readonly markFailed: (
    key: MessageKey,
    attempts: number,
    error: string,
    now: Date
  ) => Effect.Effect<void, ServiceUnavailable>
}>()("sesame/Outbox") {}
