import { Effect } from "effect"
import { HttpRouter } from "effect/http"
import { magicAuthEdge } from "./magicauth/Product.ts"
import { Authink } from "./authink/Product.ts"
import { edgeOf, type ProductEdge } from "./Kit.ts"
import { auth1Edge } from "./auth1/Product.ts"
import { TransmitEdge } from "./transmit/Product.ts"
import { Scalekit } from "./scalekit/Product.ts"

/**
 * The compatibility adapters' prefixes and canned refusals, for the edge (413/415 in the product's
 * words, Edge.ts) and for unknown routes under each prefix (404 in the product's words). Each adapter
 * adds its `edge` here; its HttpApi group goes into api/Api.ts and its handlers into http/Server.ts.
 */
export const compatEdges: ReadonlyArray<ProductEdge> = [edgeOf(Authink), edgeOf(Scalekit), auth1Edge, magicAuthEdge, TransmitEdge]

/** An unknown path (or method) under a product's prefix answers that product's 404, not an empty one. */
export const CompatFallbackRoutes = HttpRouter.use((router) =>
  Effect.forEach(compatEdges, (edge) => router.add("*", `${edge.prefix}/*`, Effect.succeed(edge.notFound)), { discard: true }))
