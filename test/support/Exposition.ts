/** A reader for Prometheus text exposition (what a scraper sees), for the metrics tests. */
export interface Series {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

/** Every sample line; comments (# HELP, # TYPE) and blank lines are skipped. Throws on a malformed line. */
export const parseExposition = (text: string): ReadonlyArray<Series> =>
  text.split("\n").filter((line) => line.trim() !== "" && !line.startsWith("#")).map((line) => {
    const match = SAMPLE.exec(line)
    if (match === null) throw new Error(`not an exposition sample: ${line}`)
    const labels: Record<string, string> = {}
    for (const [, key, value] of (match[2] ?? "").matchAll(LABEL)) {
      if (key !== undefined && value !== undefined) labels[key] = value.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c))
    }
    return { name: match[1] ?? "", labels, value: Number(match[3]) }
  })

/** The value of the series `name` whose labels are exactly `labels`; 0 when there is none (a counter not yet touched). */
export const valueOf = (series: ReadonlyArray<Series>, name: string, labels: Readonly<Record<string, string>> = {}): number => {
  const wanted = Object.entries(labels)
  const found = series.find((s) =>
    s.name === name && Object.keys(s.labels).length === wanted.length && wanted.every(([k, v]) => s.labels[k] === v))
  return found?.value ?? 0
}

/** Whether any series named `name` exists (whatever its labels). */
export const has = (series: ReadonlyArray<Series>, name: string): boolean => series.some((s) => s.name === name)
