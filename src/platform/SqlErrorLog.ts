import type { SqlError } from "effect/sql/SqlError"

const text = (source: unknown, name: string): string | undefined => {
  if (typeof source !== "object" || source === null || !(name in source)) return undefined
  const value: unknown = Reflect.get(source, name)
  return typeof value === "string" ? value : undefined
}

/**
 * What of a SqlError may reach the log: its kind, the SQLSTATE and where in our schema it happened.
 * Never PostgreSQL's `detail`, `where` or `hint`: they quote submitted values (`JSON data, line 1:
 * {"state":"…`, `Key (email)=(…) already exists`, `portal parameter $1 = '…'`), and neither is the
 * primary message of a data exception (class 22: `invalid input syntax for type uuid: "…"`).
 */
export const loggableSqlError = (error: SqlError) => {
  const cause = error.reason.cause
  const code = text(cause, "code")
  const postgres = text(cause, "severity") !== undefined
  // A PostgreSQL error outside class 22, or a socket error (ECONNREFUSED…): its message names no input.
  const detail = postgres ? (code?.startsWith("22") === true ? undefined : text(cause, "message"))
    : text(cause, "syscall") !== undefined ? text(cause, "message") : undefined
  return {
    reason: error.reason._tag,
    ...(error.reason.operation === undefined ? {} : { operation: error.reason.operation }),
    message: error.reason.message,
    ...(code === undefined ? {} : { code }),
    ...(detail === undefined ? {} : { detail }),
    ...Object.fromEntries(["routine", "table", "column", "constraint"].flatMap((name) => {
      const value = text(cause, name)
      return value === undefined ? [] : [[name, value]]
    }))
  }
}
