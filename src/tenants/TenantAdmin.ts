import { PgClient } from "@effect/sql-pg"
import { Context, Effect, Layer, Schema, SchemaIssue } from "effect"
import { NotFound, ScopeMissing, type ServiceUnavailable, ValidationFailed } from "../api/Errors.ts"
import type { CurrentKey } from "../api/Security.ts"
import type { TenantView, UpdateTenantRequest } from "../api/Tenant.ts"
import { Audit } from "../audit/Audit.ts"
import { displayNameProblem, httpsUrlProblem } from "../domain/Branding.ts"
import { normalizeEmail } from "../domain/Email.ts"
import type { Mode, TenantId } from "../domain/Ids.ts"
import { validateAllowlistEntry } from "../domain/Redirect.ts"
import { tenantTemplateProblem } from "../templates/TenantTemplates.ts"
import { TenantSettings } from "../domain/TenantSettings.ts"
import { Transaction } from "../platform/Transaction.ts"
import { unavailable } from "../platform/Sql.ts"
import { Tenants } from "./Tenants.ts"
import { changesOf, mergePatch } from "./SettingsPatch.ts"

type Caller = CurrentKey["Service"]

// Unknown fields are an error, not silently dropped (SECURITY.md "Input").
const decodeStrict = Schema.decodeUnknownEffect(TenantSettings, { onExcessProperty: "error" })
const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

const invalid = (error: Schema.SchemaError) => {
  const first = formatIssues(error.issue).issues[0]
  const path = (first?.path ?? []).map((s) => String(typeof s === "object" && s !== null && "key" in s ? s.key : s))
  const field = ["settings", ...path].join(".")
  return new ValidationFailed({ message: `${field}: ${first?.message ?? "is not valid"}`, field })
}

/** Checks the schema cannot express: allowlist entries (API.md redirect rules), header-safe sender fields. */
const checkSemantics = (settings: TenantSettings) =>
  Effect.gen(function* () {
    for (const [i, entry] of (settings.redirectAllowlist ?? []).entries()) {
      if (!validateAllowlistEntry(entry)) {
        const field = `settings.redirectAllowlist.${i}`
        return yield* new ValidationFailed({ message: `${field}: not a valid redirect allowlist entry`, field })
      }
    }
    // ASVS 1.3.11: nothing that reaches an email header carries CR/LF or other control characters
    for (const name of ["appName", "senderName"] as const) {
      const value = settings[name]
      if (value !== undefined && /[\u0000-\u001f\u007f]/.test(value)) {
        return yield* new ValidationFailed({ message: `settings.${name}: must not contain control characters`, field: `settings.${name}` })
      }
    }
    const template = tenantTemplateProblem(settings.templates ?? [])
    if (template !== undefined) {
      const [field, problem] = template
      return yield* new ValidationFailed({ message: `${field}: ${problem}`, field })
    }
    // A display name only (no address-looking text), and a logo URL the email can really show.
    const branding = [
      ["senderName", settings.senderName === undefined ? undefined : displayNameProblem(settings.senderName)],
      ["logoUrl", settings.logoUrl === undefined ? undefined : httpsUrlProblem(settings.logoUrl)]
    ] as const
    for (const [name, problem] of branding) {
      if (problem !== undefined) {
        return yield* new ValidationFailed({ message: `settings.${name}: ${problem}`, field: `settings.${name}` })
      }
    }
    if (settings.replyTo !== undefined && normalizeEmail(settings.replyTo) === undefined) {
      return yield* new ValidationFailed({ message: "settings.replyTo: not a valid email address", field: "settings.replyTo" })
    }
  })

// Settings are kept per mode (issue 10): `settings` is what live sign-ins use, `test_settings` what test
// ones use, and a key reads and writes only its own mode's document.
const settingsColumn = (mode: Mode) => (mode === "live" ? "settings" : "test_settings")

const nameIsShared = new ScopeMissing({
  message: "The tenant name is shared by both modes: change it with a live key."
})

/** `GET /v1/tenant` and `PATCH /v1/tenant`, on the calling key's mode's settings. */
export class TenantAdmin extends Context.Service<TenantAdmin, {
  readonly get: (caller: Caller) => Effect.Effect<TenantView, ServiceUnavailable>
  readonly update: (caller: Caller, request: UpdateTenantRequest) => Effect.Effect<TenantView, ValidationFailed | ScopeMissing | ServiceUnavailable>
}>()("sesame/TenantAdmin") {}

interface Row {
  readonly id: TenantId
  readonly name: string
  readonly settings: unknown
  readonly createdAt: Date
}

export const make = Effect.gen(function* () {
  const sql = yield* PgClient.PgClient
  const tenants = yield* Tenants
  const tx = yield* Transaction
  const audit = yield* Audit

  const view = (row: Row, mode: Mode, settings: TenantSettings): TenantView => ({
    id: row.id, name: row.name, mode, settings, createdAt: row.createdAt.toISOString()
  })
  // A key always belongs to an existing tenant (foreign key): a missing one is a defect.
  const load = (id: TenantId, mode: Mode, lock: boolean) =>
    unavailable(sql<Row>`
      SELECT id, name, ${sql(settingsColumn(mode))} AS settings, created_at FROM tenants
      WHERE id = ${id}${lock ? sql` FOR UPDATE` : sql``}`).pipe(
      Effect.flatMap((rows) => rows[0] === undefined ? Effect.die(new NotFound({})) : Effect.succeed(rows[0]))
    )

  return TenantAdmin.of({
    get: Effect.fn("TenantAdmin.get")(function* (caller: Caller) {
      const row = yield* load(caller.tenantId, caller.mode, false)
      return view(row, caller.mode, yield* Effect.orDie(Schema.decodeUnknownEffect(TenantSettings)(row.settings)))
    }),

    // Read, merge, validate, write and audit in one transaction holding the row lock: two concurrent
    // patches both apply, one after the other, and the audit log has each change exactly once, with
    // the mode it changed and (RequestContext) the key that made it.
    update: Effect.fn("TenantAdmin.update")(function* (caller: Caller, request: UpdateTenantRequest) {
      const column = settingsColumn(caller.mode)
      const updated = yield* tx.run(Effect.gen(function* () {
        const row = yield* load(caller.tenantId, caller.mode, true)
        const name = request.name ?? row.name
        // The name is live's default appName: a test key changing it would change live emails.
        if (name !== row.name && caller.mode !== "live") return yield* nameIsShared
        const merged = request.settings === undefined ? row.settings : mergePatch(row.settings, request.settings)
        const settings = yield* decodeStrict(merged).pipe(Effect.mapError(invalid))
        yield* checkSemantics(settings)
        const changes = [
          ...(name !== row.name ? [{ path: "name", from: row.name, to: name }] : []),
          ...changesOf(row.settings, settings)
        ]
        if (changes.length > 0) {
          yield* unavailable(sql`UPDATE tenants SET name = ${name}, ${sql(column)} = ${sql.json(settings)} WHERE id = ${row.id}`)
          yield* audit.record({ tenantId: row.id, mode: caller.mode, type: "tenant.updated", subject: row.id, details: { changes } })
        }
        return view({ ...row, name }, caller.mode, settings)
      }))
      yield* tenants.invalidate(caller.tenantId)
      return updated
    })
  })
})

export const layer = Layer.effect(TenantAdmin)(make)
