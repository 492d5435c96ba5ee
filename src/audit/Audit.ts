import { Context, type Effect, type Schema } from "effect"
import type { ServiceUnavailable } from "../api/Errors.ts"
import type { Mode, TenantId } from "../domain/Ids.ts"

import type { AuditType } from "../api/Audit.ts"

export type { AuditType }

export type AuditDetails = { readonly [key: string]: Schema.Json }

/** Who and where a request came from; the API-key middleware provides it for every `/v1` request. */
export interface RequestInfo {
  readonly requestId: string | null
  readonly ip: string | null
  /** The API key id of the caller. */
  readonly actor: string | null
}

export const RequestContext = Context.Reference<RequestInfo>("sesame/RequestContext", {
  defaultValue: () => ({ requestId: null, ip: null, actor: null })
})

export interface AuditEntry {
  readonly tenantId: TenantId
  /** null for tenant-wide events (settings), which keys of both modes see. */
  readonly mode: Mode | null
  readonly type: AuditType
  /** What the event is about: a key id, an auth request id, a user id, a limit name. Never a secret. */
  readonly subject: string | null
  readonly details: AuditDetails
}

export interface AuditEvent {
  readonly cursor: string
  readonly id: string
  readonly mode: Mode | null
  readonly type: AuditType
  readonly actor: string | null
  readonly ip: string | null
  readonly requestId: string | null
  readonly subject: string | null
  readonly details: AuditDetails
  readonly createdAt: Date
}

/** What the console's audit page narrows the log to; every field optional, all of them must match. */
export interface AuditFilter {
  readonly type?: AuditType
  /** Exactly this actor: an API key id, or `operator:<email>`. */
  readonly actor?: string
  readonly subject?: string
  /** Events at or after this instant. */
  readonly from?: Date
  /** Events before this instant. */
  readonly to?: Date
}

export class Audit extends Context.Service<Audit, {
  /**
   * Appends an event, stamped with the request's id, address and actor (RequestContext) and the
   * Clock's time. Runs on the caller's SQL client, so inside the caller's transaction when there is one.
   */
  readonly record: (entry: AuditEntry) => Effect.Effect<void, ServiceUnavailable>
  /** Like `record`, but at most once per `sampleKey` a minute in this process (rate-limit refusals). */
  readonly sampled: (sampleKey: string, entry: AuditEntry) => Effect.Effect<void, ServiceUnavailable>
  /** Newest first; `before` is the cursor of the last event of the previous page. */
  readonly list: (
    tenantId: TenantId,
    mode: Mode,
    page: { readonly limit: number; readonly before: string | undefined },
    filter?: AuditFilter
  ) => Effect.Effect<ReadonlyArray<AuditEvent>, ServiceUnavailable>
}>()("sesame/Audit") {}

export const SAMPLE_MS = 60_000
