import type { Scope } from "../domain/Ids.ts"
import { type Cidr, parseCidr } from "./IpAllowlist.ts"

/** What bounds a key's power: its scopes, where it may be used from, and until when. */
export interface KeyBounds {
  readonly scopes: ReadonlyArray<Scope>
  /** CIDRs; empty: from anywhere. */
  readonly ipAllowlist: ReadonlyArray<string>
  readonly expiresAt: Date | null
}

const cidrsOf = (entries: ReadonlyArray<string>): ReadonlyArray<Cidr> => entries.flatMap((e) => parseCidr(e) ?? [])

/** `inner` ⊆ `outer`: the same family, at least as long a prefix, and inside the outer network. */
const within = (inner: Cidr, outer: Cidr) =>
  inner.address.kind() === outer.address.kind() && inner.bits >= outer.bits && inner.address.match(outer.address, outer.bits)

/**
 * Why `candidate` would be stronger than `holder`, or undefined when it is not: a key may create or
 * revoke only keys that are no more powerful than itself (OWASP ASVS 8.2: no privilege escalation
 * through key management). Every scope must be one the holder has; if the holder is bound to
 * addresses, the candidate must be bound to addresses inside them; if the holder expires, the
 * candidate must expire no later.
 */
export const strongerThan = (candidate: KeyBounds, holder: KeyBounds): { readonly reason: string; readonly scope?: Scope } | undefined => {
  const scope = candidate.scopes.find((s) => !holder.scopes.includes(s))
  if (scope !== undefined) return { reason: `it has the scope ${scope}, which this key lacks`, scope }
  if (holder.ipAllowlist.length > 0) {
    const outer = cidrsOf(holder.ipAllowlist)
    const inner = cidrsOf(candidate.ipAllowlist)
    if (inner.length === 0) return { reason: "this key has an IP allowlist and the other would be usable from anywhere" }
    if (!inner.every((c) => outer.some((o) => within(c, o)))) return { reason: "its IP allowlist reaches beyond this key's" }
  }
  if (holder.expiresAt !== null) {
    if (candidate.expiresAt === null) return { reason: "this key expires and the other would not" }
    if (candidate.expiresAt.getTime() > holder.expiresAt.getTime()) return { reason: "it would expire after this key" }
  }
  return undefined
}
