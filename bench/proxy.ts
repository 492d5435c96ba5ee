/**
 * The round-robin proxy of test/support/Proxy.ts as a process, for `BENCH_PROCESSES` in bench/run.ts:
 * listens on 127.0.0.1:PORT and sends each request to the next of BACKENDS (comma-separated base URLs).
 * A process of its own, so that its CPU is neither the load generator's nor Sesame's.
 */
import { startProxy } from "../test/support/Proxy.ts"

const backends = (process.env["BACKENDS"] ?? "").split(",").map((b) => b.trim()).filter((b) => b !== "")
const proxy = await startProxy(backends, { port: Number(process.env["PORT"] ?? 0) })
console.log(`proxy on ${proxy.url} → ${backends.join(", ")}`)
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.log(`proxy: ${signal}, forwarded ${proxy.counts().join(" / ")}`)
    void proxy.close().finally(() => process.exit(0))
  })
}
