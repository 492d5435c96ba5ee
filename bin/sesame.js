#!/usr/bin/env node
// The `sesame` command (`npm start`; `node src/cli.ts` comes here too). Plain JavaScript, so that with
// a warm compile cache no TypeScript has to be stripped at all: Node ≥ 22.18 runs the TypeScript
// sources directly (see README "Requirements"), but loading its type stripper costs ~50 ms and ~17 MB.
// Nothing heavy is imported statically: this file tunes the process before the program loads.
import { existsSync } from "node:fs"
import { enableCompileCache } from "node:module"
import { setFlagsFromString } from "node:v8"

// V8 keeps each module's compiled code (and the type-stripped TypeScript) in
// os.tmpdir()/node-compile-cache, keyed by the source's hash: a restart spends about a third less
// CPU loading the ~700 modules. NODE_COMPILE_CACHE=dir moves it; NODE_DISABLE_COMPILE_CACHE=1 turns it off.
enableCompileCache()

// After a full GC, V8 lets the old generation grow to up to 4× what survived before it collects
// again (~55 MB live → ~210 MB under load). 2× is no cap (a heap with more live data still grows
// as far as it needs) and costs a few more mark-compacts of a few ms each.
setFlagsFromString("--heap-growing-percent=100")

// In the repository the TypeScript sources run as they are. An installed package ships no src/ (and
// Node refuses to strip types under node_modules), so it runs the build, dist/ (`npm run build`).
const sources = new URL("../src/Commands.ts", import.meta.url)
await import(existsSync(sources) && !sources.pathname.includes("/node_modules/") ? sources.href : "../dist/src/Commands.js")
