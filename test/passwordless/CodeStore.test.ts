import { Layer } from "effect"
import * as CodeStoreMemory from "../../src/passwordless/CodeStoreMemory.ts"
import * as CodeStorePg from "../../src/passwordless/CodeStorePg.ts"
import { hasPostgres, pgliteLayer, postgresLayer } from "../support/Db.ts"
import { codeStoreContract } from "./CodeStoreContract.ts"

codeStoreContract("memory", CodeStoreMemory.layer)
codeStoreContract("PGlite", CodeStorePg.layer.pipe(Layer.provide(pgliteLayer)))
if (hasPostgres) codeStoreContract("PostgreSQL", CodeStorePg.layer.pipe(Layer.provide(postgresLayer)))
