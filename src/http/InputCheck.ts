/**
 * Input no schema should have to think about: U+0000 (PostgreSQL refuses it in text and jsonb, so it
 * would surface as a 503) and JSON nested deeper than any of our shapes (a recursive decoder or
 * serializer would overflow the stack on it). Checked once per request, for every field at once.
 */

/** Containers (objects and arrays, the body itself included) may nest this deep. */
export const MAX_JSON_DEPTH = 32

export interface BadInput {
  /** Where: a dotted path into the body (`metadata.a.b`), a query or path parameter's name. */
  readonly field: string | undefined
  readonly problem: "nul" | "depth"
}

const NUL = "\u0000"

/** How many `{` and `[` the text holds, counted no further than `limit + 1` (native searches). */
const openings = (text: string, limit: number): number => {
  let count = 0
  for (const char of ["{", "["]) {
    for (let i = text.indexOf(char); i !== -1 && count <= limit; i = text.indexOf(char, i + 1)) count++
  }
  return count
}

/**
 * Whether any string of the raw body holds an escaped NUL (JSON can only carry U+0000 as `\u0000`; a
 * raw one is invalid JSON) or containers nest past the limit. A normal body is cleared by native
 * searches alone: no `\u0000` anywhere, and no more opening brackets in all than the depth allowed.
 */
const suspicious = (text: string): boolean =>
  (text.includes("\\u0000") || openings(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) && exactScan(text)

/** One pass, no allocation, skipping strings with their escapes (brackets or `\\u0000` in them do not count). */
const exactScan = (text: string): boolean => {
  let depth = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x22) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i)
        if (d === 0x22) break
        if (d === 0x5c) {
          if (text.startsWith("u0000", i + 1)) return true
          i++
        }
      }
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_JSON_DEPTH) return true
    } else if (c === 0x7d || c === 0x5d) {
      depth--
    }
  }
  return false
}

const dotted = (path: ReadonlyArray<string>) => path.length === 0 ? undefined : path.join(".")

/**
 * Which field is bad, walking the parsed value with an explicit stack that never goes below the
 * depth limit (no recursion, so 10,000 levels cost nothing but the limit's).
 */
const locate = (root: unknown): BadInput | undefined => {
  const stack: Array<{ readonly value: unknown; readonly path: ReadonlyArray<string> }> = [{ value: root, path: [] }]
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { value, path } = next
    if (typeof value === "string") {
      if (value.includes(NUL)) return { field: dotted(path), problem: "nul" }
      continue
    }
    if (typeof value !== "object" || value === null) continue
    // `path` has one segment per enclosing container: this one is at depth path.length + 1.
    if (path.length >= MAX_JSON_DEPTH) return { field: path[0], problem: "depth" }
    const entries: ReadonlyArray<readonly [string, unknown]> = Array.isArray(value)
      ? value.map((item: unknown, index) => [String(index), item] as const)
      : Object.entries(value)
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, item] = entries[i] ?? ["", undefined]
      if (key.includes(NUL)) return { field: dotted(path), problem: "nul" }
      stack.push({ value: item, path: [...path, key] })
    }
  }
  return undefined
}

/** The JSON body's bad field, if any; undefined also for a body that is not JSON (its decoder says so). */
export const badJsonBody = (text: string): BadInput | undefined => {
  if (!suspicious(text)) return undefined
  let parsed: unknown
  try {
    // V8's JSON.parse is iterative: deep nesting does not overflow it.
    parsed = JSON.parse(text)
  } catch {
    return undefined
  }
  return locate(parsed)
}

/**
 * A NUL in a query or path parameter (name or value). `url` is the raw request target: without a
 * `%00` in it no decoded parameter can hold a NUL, which keeps the common case to one indexOf.
 */
export const badParams = (
  url: string,
  params: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>,
  query: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
): BadInput | undefined => {
  if (!url.includes("%00")) return undefined
  for (const source of [params, query]) {
    for (const [name, value] of Object.entries(source)) {
      const values = typeof value === "string" ? [value] : value ?? []
      if (name.includes(NUL)) return { field: undefined, problem: "nul" }
      if (values.some((v) => v.includes(NUL))) return { field: name, problem: "nul" }
    }
  }
  return undefined
}
