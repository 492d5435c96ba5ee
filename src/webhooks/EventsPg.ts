import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { unavailable } from "../platform/Sql.ts"
import { randomId } from "../platform/Crypto.ts"
import { Events } from "./Events.ts"

export const make = Effect.map(SqlClient.SqlClient, (sql) =>
  Events.of({
    record: (event, now) =>
      unavailable(sql`INSERT INTO events (tenant_id, id, mode, type, payload, created_at)
        VALUES (${event.tenantId}, ${randomId("evt")}, ${event.mode}, ${event.type}, ${JSON.stringify(event.payload)}::jsonb, ${now})`)
        .pipe(Effect.asVoid)
  }))

export const layer = Layer.effect(Events)(make)
