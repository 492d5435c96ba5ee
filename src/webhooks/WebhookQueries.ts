import type { PgClient } from "@effect/sql-pg"
import type { WebhookDeliveryId, WebhookEndpointId } from "../api/Webhooks.ts"
import type { Mode, TenantId } from "../domain/Ids.ts"

/**
 * The two statements the webhook workers of every process run concurrently. Each is ONE statement,
 * so it needs no lock but the row locks it takes itself.
 */

/**
 * Fan-out: SKIP LOCKED gives concurrent workers disjoint batches of undispatched events; marking them
 * and inserting their deliveries commit together; `ON CONFLICT DO NOTHING` on (endpoint, event) keeps
 * it idempotent even if an event were ever taken twice. An endpoint only receives the events that
 * happened after it was created, in its own mode.
 */
export const fanOutSql = (sql: PgClient.PgClient, now: Date, limit: number) =>
  sql<{ readonly events: number; readonly deliveries: number }>`
    WITH batch AS (
      SELECT tenant_id, id, mode, type, created_at FROM events
      WHERE dispatched_at IS NULL
      ORDER BY created_at LIMIT ${limit}
      FOR UPDATE SKIP LOCKED
    ), marked AS (
      UPDATE events e SET dispatched_at = ${now} FROM batch b WHERE e.tenant_id = b.tenant_id AND e.id = b.id
    ), inserted AS (
      INSERT INTO webhook_deliveries (tenant_id, id, endpoint_id, event_id, event_type, status, attempts, next_attempt_at, created_at)
      SELECT b.tenant_id, 'whd_' || replace(gen_random_uuid()::text, '-', ''), w.id, b.id, b.type, 'pending', 0, ${now},
        b.created_at
      FROM batch b JOIN webhook_endpoints w ON w.tenant_id = b.tenant_id AND w.mode = b.mode AND w.status = 'enabled'
        AND w.events @> jsonb_build_array(b.type) AND w.created_at <= b.created_at
      ON CONFLICT (tenant_id, endpoint_id, event_id) DO NOTHING
      RETURNING 1
    )
    SELECT (SELECT count(*) FROM batch)::integer AS events, (SELECT count(*) FROM inserted)::integer AS deliveries`

export interface ClaimRow {
  readonly tenantId: TenantId
  readonly id: WebhookDeliveryId
  readonly endpointId: WebhookEndpointId
  readonly attempts: number
  readonly mode: Mode
  readonly url: string
  readonly auth1Signature: boolean
  readonly secretEnc: Uint8Array
  readonly previousSecretEnc: Uint8Array | null
  readonly eventId: string
  readonly eventType: string | null
  readonly eventPayload: unknown
  readonly eventCreatedAt: Date | null
}

/**
 * Claim: SKIP LOCKED lets concurrent workers take disjoint rows, and READ COMMITTED re-checks the
 * inner WHERE on a row another worker leased meanwhile, so no delivery is leased twice at once. A
 * lease that ran out (its worker died) makes the row due again. Deliveries of disabled endpoints wait.
 */
export const claimSql = (sql: PgClient.PgClient, now: Date, leaseUntil: Date, limit: number) =>
  sql<ClaimRow>`
    WITH claimed AS (
      UPDATE webhook_deliveries d SET status = 'sending', attempts = d.attempts + 1, locked_until = ${leaseUntil}
      WHERE (d.tenant_id, d.id) IN (
        SELECT x.tenant_id, x.id FROM webhook_deliveries x
        WHERE x.status IN ('pending', 'sending') AND x.next_attempt_at <= ${now}
          AND (x.locked_until IS NULL OR x.locked_until <= ${now})
          AND EXISTS (SELECT 1 FROM webhook_endpoints w
            WHERE w.tenant_id = x.tenant_id AND w.id = x.endpoint_id AND w.status = 'enabled')
        ORDER BY x.next_attempt_at LIMIT ${limit}
        FOR UPDATE SKIP LOCKED)
      RETURNING d.tenant_id, d.id, d.endpoint_id, d.event_id, d.attempts
    )
    SELECT c.tenant_id, c.id, c.endpoint_id, c.attempts, w.mode, w.url, w.auth1_signature, w.secret_enc,
      CASE WHEN w.previous_secret_expires_at > ${now} THEN w.previous_secret_enc END AS previous_secret_enc,
      c.event_id, e.type AS event_type, e.payload AS event_payload, e.created_at AS event_created_at
    FROM claimed c
    JOIN webhook_endpoints w ON w.tenant_id = c.tenant_id AND w.id = c.endpoint_id
    LEFT JOIN events e ON e.tenant_id = c.tenant_id AND e.id = c.event_id`
