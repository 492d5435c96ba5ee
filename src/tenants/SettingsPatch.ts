import type { Schema } from "effect"

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** JSON merge patch (RFC 7396): objects merge key by key, `null` removes a key, anything else replaces. */
export const mergePatch = (target: unknown, patch: unknown): unknown => {
  if (!isObject(patch)) return patch
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {}
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key]
    else out[key] = mergePatch(out[key], value)
  }
  return out
}

const leaves = (value: unknown, prefix: string, into: Map<string, unknown>) => {
  if (isObject(value)) {
    for (const [key, v] of Object.entries(value)) leaves(v, prefix === "" ? key : `${prefix}.${key}`, into)
  } else if (prefix !== "") {
    into.set(prefix, value)
  }
  return into
}

/** What changed between two settings documents, leaf by leaf (`limits.sendPerIpHour`), for the audit log. */
export const changesOf = (before: unknown, after: unknown): Array<{ path: string; from: Schema.Json; to: Schema.Json }> => {
  const a = leaves(before, "", new Map())
  const b = leaves(after, "", new Map())
  const json = (v: unknown): Schema.Json => (v === undefined ? null : (v as Schema.Json))
  return [...new Set([...a.keys(), ...b.keys()])].sort()
    .filter((path) => JSON.stringify(a.get(path)) !== JSON.stringify(b.get(path)))
    .map((path) => ({ path, from: json(a.get(path)), to: json(b.get(path)) }))
}
