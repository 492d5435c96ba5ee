import { Console, Effect } from "effect"
import { AllScopes } from "../domain/Ids.ts"
import { validateAllowlistEntry } from "../domain/Redirect.ts"
import { ApiKeys } from "../keys/ApiKeys.ts"
import { Tenants } from "./Tenants.ts"

export class InvalidRedirectEntry extends Error {
  override readonly name = "InvalidRedirectEntry"
}

/** A tenant with one live and one test key holding every scope (`sesame tenant create`, first start). */
export const createTenantWithKeys = Effect.fnUntraced(function* (name: string, allowRedirects: ReadonlyArray<string>) {
  const bad = allowRedirects.find((entry) => !validateAllowlistEntry(entry))
  if (bad !== undefined) return yield* Effect.fail(new InvalidRedirectEntry(`not a valid redirect allowlist entry: ${bad}`))
  const tenants = yield* Tenants
  const keys = yield* ApiKeys
  const tenant = yield* tenants.create({ name, settings: { redirectAllowlist: allowRedirects } })
  const live = yield* keys.create({ tenantId: tenant.id, name: "default live key", mode: "live", scopes: AllScopes })
  const test = yield* keys.create({ tenantId: tenant.id, name: "default test key", mode: "test", scopes: AllScopes })
  return { tenant, keys: { live: live.secret, test: test.secret } }
})

/** First start on an empty embedded database: a "Default" tenant whose keys are printed once. */
export const bootstrapDefaultTenant = Effect.gen(function* () {
  const tenants = yield* Tenants
  if ((yield* tenants.count) > 0) return
  const created = yield* createTenantWithKeys("Default", ["http://localhost/*", "http://127.0.0.1/*"])
  yield* Console.log([
    "Created tenant \"Default\" (" + created.tenant.id + "). Its API keys are shown only this once:",
    `  live: ${created.keys.live}`,
    `  test: ${created.keys.test}`
  ].join("\n"))
})
