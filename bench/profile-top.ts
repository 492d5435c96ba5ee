/**
 * Summarises V8 .cpuprofile files (e.g. from `BENCH_CPU_PROF=/tmp/prof npm run bench`):
 * top functions by self time, and self time grouped by package / source area.
 *
 *   node bench/profile-top.ts /tmp/prof/CPU.*.cpuprofile [--top 30]
 */
import { readFileSync } from "node:fs"

interface Node {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly hitCount?: number
  readonly children?: ReadonlyArray<number>
}
interface Profile {
  readonly nodes: ReadonlyArray<Node>
  readonly startTime: number
  readonly endTime: number
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const args = process.argv.slice(2)
const topIndex = args.indexOf("--top")
const top = topIndex === -1 ? 30 : Number(args[topIndex + 1])
const files = args.filter((a, i) => a !== "--top" && i !== topIndex + 1)

const areaOf = (url: string) => {
  if (url === "") return "(native / runtime)"
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?:dist\/)?(?:esm\/|cjs\/)?([^/]+)?/.exec(url)
  if (nm !== null) return nm[1] === "effect" ? `effect/${nm[2]?.replace(/\.js$/, "") ?? ""}` : nm[1] ?? url
  if (url.startsWith("node:")) return url.split("/").slice(0, 2).join("/")
  const src = /\/(src|bench|migrations)\/(.+)$/.exec(url)
  return src !== null ? `${src[1]}/${src[2]}` : url
}

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map<number, number>()
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
  const total = [...self.values()].reduce((a, b) => a + b, 0)
  const byFunction = new Map<string, number>()
  const byArea = new Map<string, number>()
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame
    const short = url.replace(/^.*\/node_modules\//, "").replace(/^file:\/\/.*\/(src|bench)\//, "$1/")
    const key = `${functionName || "(anonymous)"}  ${short}${url === "" ? "" : `:${lineNumber + 1}`}`
    byFunction.set(key, (byFunction.get(key) ?? 0) + us)
    const area = areaOf(url)
    byArea.set(area, (byArea.get(area) ?? 0) + us)
  }
  // Inclusive time: each sample counts once for every distinct function on its stack.
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const inclusive = new Map<string, number>()
  for (const [id, us] of self) {
    const seen = new Set<string>()
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const { functionName, url, lineNumber } = byId.get(cur)!.callFrame
      if (!/\/(src|bench)\//.test(url) && !/node_modules\/(jose|mustache|@effect\/sql-pg)\//.test(url)) continue
      const short = url.replace(/^.*\/node_modules\//, "").replace(/^file:\/\/.*\/(src|bench)\//, "$1/")
      seen.add(`${functionName || "(anonymous)"}  ${short}:${lineNumber + 1}`)
    }
    for (const key of seen) inclusive.set(key, (inclusive.get(key) ?? 0) + us)
  }
  const pct = (us: number) => `${(us / total * 100).toFixed(1).padStart(5)} %`
  console.log(`\n${file}: ${(total / 1e6).toFixed(1)} s sampled`)
  console.log(`\nTop ${top} functions by self time:`)
  for (const [key, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(us)}  ${key}`)
  console.log(`\nInclusive time of project functions (src/, bench/) and of jose, mustache, @effect/sql-pg:`)
  for (const [key, us] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(us)}  ${key}`)
  console.log(`\nSelf time by area:`)
  for (const [key, us] of [...byArea].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(us)}  ${key}`)
}
