/**
 * Clean shutdown (README "Shutdown and crash recovery"). The first SIGTERM/SIGINT begins a drain:
 * `/readyz` answers 503, the listener closes, the workers stop claiming, and what is in flight gets
 * until the deadline (SHUTDOWN_TIMEOUT_MS); then it is interrupted, its leases handed back, and the
 * process exits 0. A repeated signal, or a drain that overruns its deadline, ends the process at once.
 */
import cluster from "node:cluster"
import { Cause, Clock, Context, Deferred, Effect, Exit, Fiber } from "effect"
import * as Runtime from "effect/Runtime"

/** What the server's parts read of the shutdown (a Reference: never draining unless `runMain` drives it). */
export interface Lifecycle {
  /** From the first signal on. A flag read, cheap enough for every `/readyz`. */
  readonly isDraining: () => boolean
  /** Completes when the drain begins. */
  readonly draining: Effect.Effect<void>
  /** Milliseconds left before what is still running is interrupted: 0 unless a drain is under way. */
  readonly remainingMs: Effect.Effect<number>
}

export const Lifecycle = Context.Reference<Lifecycle>("sesame/Lifecycle", {
  defaultValue: () => ({ isDraining: () => false, draining: Effect.never, remainingMs: Effect.succeed(0) })
})

/** A startup cut short by a signal (PGlite booting, migrations) gets this long before the process exits anyway. */
export const STARTUP_STOP_MS = 1000
/** After the drain deadline, finalizers (closing the database) get this long before the process exits anyway. */
export const OVERRUN_GRACE_MS = 2000
/** The same signal again within this window is one request: a terminal or a process group signals every process, and `npm start` forwards it to its child too. */
export const REPEAT_WINDOW_MS = 1000
/** The message a cluster primary sends its workers instead of a signal (which a worker would count twice: see `runMain`). */
export const STOP_MESSAGE = "sesame:stop"

/** The one process's lifecycle, driven by `runMain`'s signal handlers. */
export const make = () => {
  let phase: "starting" | "serving" | "draining" = "starting"
  let timeoutMs = 0
  let deadline = 0
  let began = 0
  const begun = Deferred.makeUnsafe<void>()
  const lifecycle: Lifecycle = {
    isDraining: () => phase === "draining",
    draining: Deferred.await(begun),
    remainingMs: Effect.map(Clock.currentTimeMillis, (now) => phase === "draining" ? Math.max(0, deadline - now) : 0)
  }
  return {
    lifecycle,
    /** The server is up: a signal from now on drains for `ms`. */
    serving: (ms: number) => Effect.sync(() => {
      if (phase === "starting") {
        phase = "serving"
        timeoutMs = ms
      }
    }),
    /** Milliseconds since the drain began. */
    elapsedMs: Effect.map(Clock.currentTimeMillis, (now) => phase === "draining" ? now - began : 0),
    /**
     * Begins the drain: when, how long the process may take to stop, and whether it was serving (a
     * command or a startup cut short did not finish its work); undefined when it had begun already.
     */
    begin: Effect.gen(function* () {
      if (phase === "draining") return undefined
      const serving = phase === "serving"
      const allowed = serving ? timeoutMs : STARTUP_STOP_MS
      const at = yield* Clock.currentTimeMillis
      phase = "draining"
      deadline = at + allowed
      began = at
      Deferred.doneUnsafe(begun, Exit.void)
      return { at, allowed, serving }
    })
  }
}

export type Controller = ReturnType<typeof make>

const signalNumber = { SIGINT: 2, SIGTERM: 15 } as const

/**
 * Like `NodeRuntime.runMain`, with the shutdown above: the first signal begins the drain and
 * interrupts the main fiber (its scopes close: the HTTP server and the workers drain in their
 * finalizers); a server that stops so exits 0. Exits 128 + the signal number when a second signal
 * comes, when the drain overruns its deadline (+2 s for closing the database), or when what was
 * interrupted was a command or a startup.
 */
export const runMain = (controller: Controller) =>
  Runtime.makeRunMain(({ fiber, teardown }) => {
    let first: { readonly signal: keyof typeof signalNumber; readonly at: number; readonly serving: boolean } | undefined
    const exitNow = (signal: keyof typeof signalNumber, why: string) => {
      process.stderr.write(`${why}: exiting now\n`)
      process.exit(128 + signalNumber[signal])
    }
    const stop = (signal: keyof typeof signalNumber) => {
      const begun = Effect.runSync(controller.begin)
      if (begun === undefined) return
      const { at, allowed, serving } = begun
      first = { signal, at, serving }
      // Nothing is left to wait for past the deadline: a hung finalizer must not keep the process.
      setTimeout(() => exitNow(signal, `still stopping ${allowed + OVERRUN_GRACE_MS} ms after ${signal}`), allowed + OVERRUN_GRACE_MS).unref()
      fiber.interruptUnsafe(fiber.id)
    }
    const onSignal = (signal: keyof typeof signalNumber) => {
      if (first === undefined) return stop(signal)
      if (signal !== first.signal || Effect.runSync(Clock.currentTimeMillis) - first.at >= REPEAT_WINDOW_MS) exitNow(signal, `${signal} while stopping`)
    }
    const onSigint = () => onSignal("SIGINT")
    const onSigterm = () => onSignal("SIGTERM")
    // A cluster worker is asked to stop by its primary over IPC: it may have had the group's signal itself.
    const onMessage = (message: unknown) => {
      if (message === STOP_MESSAGE && first === undefined) stop("SIGTERM")
    }
    fiber.addObserver((exit) => {
      process.removeListener("SIGINT", onSigint)
      process.removeListener("SIGTERM", onSigterm)
      process.removeListener("message", onMessage)
      if (first !== undefined && Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)) {
        // a server drained as asked: a clean stop; a command or a startup cut short: as if killed
        return process.exit(first.serving ? 0 : 128 + signalNumber[first.signal])
      }
      teardown(exit, (code) => {
        if (first !== undefined || code !== 0) process.exit(code)
      })
    })
    process.on("SIGINT", onSigint)
    process.on("SIGTERM", onSigterm)
    if (cluster.isWorker) process.on("message", onMessage)
  })

/**
 * Forks `loop` for the life of the scope. The loop stops claiming work once `isDraining()` (and wakes
 * on `draining`); at shutdown it gets until the deadline to finish what it holds, then is interrupted
 * (its handlers hand leases back). A scope closed without a drain (tests, a failed start) interrupts it at once.
 */
export const forkDraining = <E, R>(loop: Effect.Effect<void, E, R>) =>
  Effect.gen(function* () {
    const lifecycle = yield* Lifecycle
    const fiber = yield* Effect.forkScoped(loop)
    // Added after the fork, so it runs before the fork's own finalizer interrupts the loop.
    yield* Effect.addFinalizer(() =>
      Effect.flatMap(lifecycle.remainingMs, (ms) => Effect.asVoid(Effect.timeoutOption(Fiber.await(fiber), ms))))
  })
