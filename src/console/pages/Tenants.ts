import { Effect } from "effect"
import type { Kit } from "../Kit.ts"

// PLACEHOLDER: replaced by the page's implementation.
export const tenantPages = (_kit: Kit) => Effect.void
