import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * Issue 13 (retention, src/retention/): each sweep statement takes the oldest rows of one kind in the
 * order of one of these indexes, so a sweep with nothing to remove reads one index page per kind rather
 * than the table. The partial indexes hold only what the sweep looks for (closed messages that still
 * carry a payload; finished deliveries), and the event index lets an event be kept while a delivery of
 * it remains.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE INDEX auth_requests_expires ON auth_requests (expires_at)`
  yield* sql`CREATE INDEX messages_created ON messages (mode, created_at)`
  yield* sql`CREATE INDEX messages_payload_held ON messages (created_at)
    WHERE payload_enc IS NOT NULL AND status IN ('sent', 'failed', 'skipped', 'suppressed') AND (mode = 'live' OR status <> 'sent')`
  yield* sql`CREATE INDEX events_created ON events (created_at)`
  yield* sql`CREATE INDEX webhook_deliveries_event ON webhook_deliveries (tenant_id, event_id)`
  yield* sql`CREATE INDEX webhook_deliveries_completed ON webhook_deliveries (completed_at) WHERE status IN ('succeeded', 'failed')`
  yield* sql`CREATE INDEX audit_log_created ON audit_log (created_at)`
})
