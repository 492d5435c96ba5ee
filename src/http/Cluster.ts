import cluster, { type Worker } from "node:cluster"
import { Deferred, Effect, Exit } from "effect"
import { STOP_MESSAGE } from "../platform/Lifecycle.ts"


/**
 * `WORKERS=n` (n > 1): this process forks n copies of itself that share the listening port
 * (node:cluster hands each new connection to the next worker) and supervises them. Everything that
 * must hold across processes already does — limits, single use, outbox claims are decided in
 * PostgreSQL — so the workers share nothing but the database. A worker that dies after it was
 * listening is replaced; one that dies before it ever listened stops them all (it cannot start: a
 * bad setting, the port taken — it would only die again). On
 * interruption (SIGTERM/SIGINT) every worker is told to drain and the primary waits for them to exit.
 */
export const superviseWorkers = (count: number) =>
  Effect.gen(function* () {
    const started = new Map<Worker, boolean>()
    let stopping = false
    const fork = () => {
      const worker = cluster.fork()
      started.set(worker, false)
      worker.once("listening", () => started.set(worker, true))
    }
    const failure = yield* Deferred.make<string>()
    yield* Effect.acquireRelease(
      Effect.sync(() => {
        cluster.on("exit", (worker, code, signal) => {
          const listened = started.get(worker) === true
          started.delete(worker)
          if (stopping) return
          const how = signal === null ? `code ${code}` : `signal ${signal}`
          if (!listened) {
            Deferred.doneUnsafe(failure, Exit.succeed(`worker ${worker.process.pid} exited before it listened (${how}): stopping every worker`))
            return
          }
          console.error(`worker ${worker.process.pid} exited (${how}); starting another`)
          fork()
        })
        for (let i = 0; i < count; i++) fork()
      }),
      () =>
        Effect.callback<void>((resume) => {
          stopping = true
          if (started.size === 0) return resume(Effect.void)
          cluster.on("exit", () => {
            if (started.size === 0) resume(Effect.void)
          })
          // a message, not SIGTERM: a worker that had the process group's signal already would take
          // a second one as "exit now" (platform/Lifecycle.ts)
          for (const worker of started.keys()) {
            const signal = () => void worker.process.kill("SIGTERM")
            if (worker.isConnected()) worker.send(STOP_MESSAGE, (error: Error | null) => error === null ? undefined : signal())
            else signal()
          }
        })
    )
    // interruptible: SIGTERM/SIGINT interrupt this wait, and the release above stops the workers
    return yield* Effect.die(new Error(yield* Deferred.await(failure)))
  })

/** Whether this process is a worker forked by `superviseWorkers`. */
export const isClusterWorker = (): boolean => cluster.isWorker
