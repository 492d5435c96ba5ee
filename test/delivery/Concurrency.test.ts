import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { CapturedMail, layerCapture, type Mailer } from "../../src/delivery/Mailer.ts"
import { Outbox } from "../../src/delivery/Outbox.ts"
import { defaults, runOnce } from "../../src/delivery/Worker.ts"
import { layerPostgres, migrate } from "../../src/platform/Database.ts"
import { freshPostgresDatabase, hasPostgres, pgliteLayer } from "../support/Db.ts"
import { clockNow, newMessage, withOutbox } from "./fixtures.ts"

const MESSAGES = 50
const options = { ...defaults, batchSize: 5, concurrency: 5 }

/** One worker: passes until nothing is due. Returns how many rows it claimed in all. */
const drain = (context: Context.Context<Outbox | Mailer>) =>
  Effect.gen(function* () {
    let claimed = 0
    while (true) {
      const n = yield* runOnce(options)
      if (n === 0) return claimed
      claimed += n
    }
  }).pipe(Effect.provideContext(context))

/** Two workers on two contexts (two database clients where the backend has them) share one capturing Mailer. */
const race = (a: Context.Context<Outbox | SqlClient.SqlClient>, b: Context.Context<Outbox>) =>
  Effect.gen(function* () {
    const mail = yield* Layer.build(layerCapture)
    const outbox = Context.get(a, Outbox)
    const now = yield* clockNow
    for (let i = 0; i < MESSAGES; i++) yield* outbox.enqueue(newMessage({ recipient: `u${i}@example.com` }), now)
    const [x, y] = yield* Effect.all([drain(Context.merge(a, mail)), drain(Context.merge(b, mail))], { concurrency: 2 })
    const sent = yield* Context.get(mail, CapturedMail).sent
    assert.strictEqual(x + y, MESSAGES) // every row claimed once in all...
    assert.strictEqual(sent.length, MESSAGES) // ...and handed to the Mailer once
    assert.strictEqual(new Set(sent.map((m) => m.to)).size, MESSAGES)
    const sql = Context.get(a, SqlClient.SqlClient)
    const [counts] = yield* sql<{ readonly sent: number; readonly attempts: number }>`
      SELECT count(*) FILTER (WHERE status = 'sent')::int AS sent, sum(attempts)::int AS attempts FROM messages`
    assert.deepStrictEqual(counts, { sent: MESSAGES, attempts: MESSAGES })
  })

describe("two workers claiming at once deliver each message exactly once", () => {
  it.effect("on PGlite (one client, concurrent passes)", () =>
    Effect.gen(function* () {
      const db = yield* Layer.build(withOutbox(pgliteLayer))
      yield* race(db, db)
    }).pipe(Effect.scoped, Effect.orDie), { timeout: 120_000 })

  it.effect.skipIf(!hasPostgres)("on PostgreSQL (two clients)", () =>
    Effect.gen(function* () {
      const url = Redacted.make(yield* freshPostgresDatabase)
      const first = yield* Layer.build(withOutbox(Layer.effectDiscard(migrate).pipe(Layer.provideMerge(layerPostgres(url)))))
      const second = yield* Layer.build(withOutbox(layerPostgres(url)))
      yield* race(first, second)
    }).pipe(Effect.scoped, Effect.orDie), { timeout: 120_000 })
})
