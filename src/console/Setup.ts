/**
 * The console tenant (#14): the tenant whose passwordless flow signs operators in. The first
 * `sesame operator add` creates it; each server start makes sure its redirect allowlist holds the
 * console's link landing (`{PUBLIC_URL}/console/signin/link`) for the mode sign-in runs in.
 */
import { Effect } from "effect"
import { validateAllowlistEntry } from "../domain/Redirect.ts"
import { Tenants } from "../tenants/Tenants.ts"
import { Operators } from "./Operators.ts"

export const CONSOLE_TENANT_NAME = "Sesame console"

/** Where an emailed console sign-in link lands; undefined when the public URL cannot be a redirect (plain http off loopback). */
export const linkLanding = (publicUrl: string): string | undefined => {
  const target = `${publicUrl}/console/signin/link`
  return validateAllowlistEntry(target) ? target : undefined
}

/** The console tenant's id, created on first use. */
export const ensureConsoleTenant = (publicUrl: string) =>
  Effect.gen(function* () {
    const operators = yield* Operators
    const existing = yield* operators.consoleTenant
    if (existing !== undefined) return existing
    const landing = linkLanding(publicUrl)
    const tenant = yield* (yield* Tenants).create({
      name: CONSOLE_TENANT_NAME,
      settings: { appName: CONSOLE_TENANT_NAME, redirectAllowlist: landing === undefined ? [] : [landing] }
    })
    yield* operators.setConsoleTenant(tenant.id)
    return tenant.id
  })
