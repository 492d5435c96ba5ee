import { Context, type Effect } from "effect"
import type { ServiceUnavailable } from "../api/Errors.ts"

/**
 * What a sweep removes, in the order it goes. Deliveries before events: an event is kept while any
 * webhook delivery of it remains, so the events whose deliveries went in this sweep go in it too.
 * Messages before payloads: a message that goes whole needs no wiping first.
 */
export const KINDS = [
  "webhookDeliveries", "events", "authRequests", "exchangeCodes", "testMessages", "messages", "payloads", "audit"
] as const
export type Kind = (typeof KINDS)[number]

export class RetentionStore extends Context.Service<RetentionStore, {
  /**
   * Removes up to `limit` of the oldest rows of `kind` at or before `cutoff` (for `payloads`: wipes
   * the payload, the message row stays), in one statement that skips rows another transaction holds.
   * Returns how many it removed.
   */
  readonly remove: (kind: Kind, cutoff: Date, limit: number) => Effect.Effect<number, ServiceUnavailable>
}>()("sesame/RetentionStore") {}
