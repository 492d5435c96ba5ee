/**
 * The published package, as another project gets it: `npm pack`, installed from the tarball into a fresh
 * project, then its CLI and server (compiled dist/, Node 24), both clients on the system's Node 20 (as they are
 * and bundled for the browser platform), and
 * its declarations under `moduleResolution` NodeNext and Bundler. Slow (a build and an install), so it
 * runs with the PostgreSQL tests.
 */
import { execFile } from "node:child_process"
import { existsSync, readFileSync, realpathSync } from "node:fs"
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { hasPostgres, freshPostgresUrl } from "../support/Db.ts"
import { nodeBin, parseTenant, type ServerProcess, startServer, testSecret } from "../support/Processes.ts"

const repoRoot = fileURLToPath(new URL("../../", import.meta.url))
const tsc = join(repoRoot, "node_modules/.bin/tsc")
/** A bundler the repository already has (Vite's, through vitest): what a front-end or edge build does with the client. */
const rolldown = join(repoRoot, "node_modules/.bin/rolldown")
/** The client must run on the consumer's own Node: the machine's (v20 here) when there is one. */
const systemNode = existsSync("/usr/bin/node") ? "/usr/bin/node" : nodeBin
/** PATH with the project's Node 24 first, for the installed CLI's `#!/usr/bin/env node`. */
const node24Path = `${dirname(realpathSync(nodeBin))}:${process.env["PATH"] ?? ""}`

interface Run {
  readonly stdout: string
  readonly stderr: string
}

const run = (file: string, args: ReadonlyArray<string>, cwd: string, env: Readonly<Record<string, string>> = {}, timeout = 180_000) =>
  new Promise<Run>((done, fail) => {
    const childEnv = { ...process.env, ...env }
    delete childEnv["NODE_OPTIONS"]
    execFile(file, [...args], { cwd, env: childEnv, timeout, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      error === null ? done({ stdout, stderr }) : fail(new Error(`${file} ${args.join(" ")} failed: ${error.message}\n${stdout}\n${stderr}`)))
  })

/** A JSON line the script printed last. */
const lastJson = (output: string): unknown => JSON.parse(output.trim().split("\n").at(-1) ?? "null")

const effectScript = `
import { Effect } from "effect"
import { FetchHttpClient } from "effect/http"
import { makeClient } from "sesame/client"

const [baseUrl, apiKey] = process.argv.slice(2)
const program = Effect.gen(function* () {
  const sesame = yield* makeClient({ baseUrl, apiKey })
  const sent = yield* sesame.passwordless.send({ payload: { email: "effect@example.com" } })
  const wrong = yield* Effect.flip(sesame.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: sent.code === "000000" ? "111111" : "000000" } }))
  const verified = yield* sesame.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: sent.code } })
  return { node: process.version, email: verified.user.email, accessToken: verified.session.accessToken, wrong: wrong._tag }
})
console.log(JSON.stringify(await Effect.runPromise(program.pipe(Effect.provide(FetchHttpClient.layer)))))
`

const promiseScript = `
import { createSesame, SesameError } from "sesame/promise"

const [baseUrl, apiKey] = process.argv.slice(2)
const sesame = createSesame({ baseUrl, apiKey })
const sent = await sesame.passwordless.send({ payload: { email: "promise@example.com" } })
const wrong = await sesame.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: sent.code === "000000" ? "111111" : "000000" } })
  .then(() => null, (error) => error instanceof SesameError ? { code: error.code, status: error.status, attemptsRemaining: error.body?.attemptsRemaining } : String(error))
const verified = await sesame.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: sent.code } })
console.log(JSON.stringify({ node: process.version, email: verified.user.email, accessToken: verified.session.accessToken, wrong }))
`

const consumerTs = `
import { Effect } from "effect"
import { FetchHttpClient } from "effect/http"
import { makeClient, type SesameClient } from "sesame/client"
import { type ContractErrorCode, createSesame, SesameError } from "sesame/promise"

export const effectSignIn = (baseUrl: string, apiKey: string, email: string) =>
  Effect.gen(function* () {
    const client: SesameClient = yield* makeClient({ baseUrl, apiKey })
    const sent = yield* client.passwordless.send({ payload: { email } })
    const verified = yield* client.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: sent.code ?? "" } }).pipe(
      Effect.catchTag("CodeInvalid", (e) => Effect.fail(\`wrong code, \${e.attemptsRemaining} left\`))
    )
    return verified.session.accessToken
  }).pipe(Effect.provide(FetchHttpClient.layer))

export const promiseSignIn = async (baseUrl: string, apiKey: string, email: string): Promise<string> => {
  const sesame = createSesame({ baseUrl, apiKey })
  const sent = await sesame.passwordless.send({ payload: { email } })
  try {
    return (await sesame.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: sent.code ?? "" } })).session.accessToken
  } catch (error) {
    if (error instanceof SesameError && error.body?.code === "CODE_INVALID") return \`\${error.status}: \${error.body.attemptsRemaining} left\`
    throw error
  }
}
export const known: ContractErrorCode = "CODE_INVALID"
// @ts-expect-error not a code of the contract
export const unknown: ContractErrorCode = "NOT_A_CODE"
// @ts-expect-error the payload is typed
export const untyped = () => createSesame({ baseUrl: "", apiKey: "" }).passwordless.send({ payload: { email: 42 } })
`

const tsconfig = (module: string, moduleResolution: string) =>
  JSON.stringify({
    compilerOptions: { target: "ES2022", module, moduleResolution, lib: ["ES2022", "DOM"], strict: true, noEmit: true, skipLibCheck: false, types: [] },
    files: ["consumer.ts"]
  })

/** The bare specifiers the modules reachable from `entry` import (statically or with `import()`). */
const packagesImported = (entry: string): Set<string> => {
  const seen = new Set<string>()
  const packages = new Set<string>()
  const walk = (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    const source = readFileSync(file, "utf8")
    for (const match of source.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+)["']/g)) {
      const specifier = match[1] ?? ""
      if (specifier.startsWith(".")) walk(resolve(dirname(file), specifier))
      else packages.add(specifier)
    }
  }
  walk(entry)
  return packages
}

describe.skipIf(!hasPostgres)("the packed tarball, installed into another project", () => {
  let work = ""
  let project = ""
  let database: { readonly url: string; readonly drop: () => Promise<void> } | undefined
  let server: ServerProcess | undefined

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "sesame-pack-"))
    project = join(work, "consumer")
    await run("npm", ["pack", "--pack-destination", work], repoRoot)
    const tarball = (await readdir(work)).find((name) => name.endsWith(".tgz"))
    assert.isDefined(tarball)
    await mkdir(project)
    await run("npm", ["init", "-y"], project)
    await run("npm", ["pkg", "set", "type=module"], project)
    await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", join(work, tarball ?? "")], project)
    await writeFile(join(project, "effect-client.mjs"), effectScript)
    await writeFile(join(project, "promise-client.mjs"), promiseScript)
    database = await freshPostgresUrl()
    server = await startServer({ DATABASE_URL: database.url }, { script: join(project, "node_modules/sesame/bin/sesame.js"), cwd: project, timeoutMs: 60_000 })
  }, 600_000)

  afterAll(async () => {
    await server?.stop()
    await database?.drop()
    if (work !== "") await rm(work, { recursive: true, force: true })
  }, 60_000)

  it("ships the build, not the sources: no src/ and no TypeScript besides declarations", async () => {
    const installed = join(project, "node_modules/sesame")
    assert.isFalse(existsSync(join(installed, "src")))
    assert.isTrue(existsSync(join(installed, "dist/src/Commands.js")))
    const { stdout } = await run("find", [installed, "-name", "*.ts", "!", "-name", "*.d.ts"], project)
    assert.strictEqual(stdout.trim(), "")
  })

  it("the clients import nothing but effect (no server code: pg, PGlite, nodemailer, node:*)", () => {
    const dist = join(project, "node_modules/sesame/dist/src")
    for (const entry of ["client.js", "promise.js", "api/Api.js"]) {
      const outside = [...packagesImported(join(dist, entry))].filter((name) => name !== "effect" && !name.startsWith("effect/"))
      assert.deepStrictEqual(outside, [], entry)
    }
  })

  it("npx sesame --help, and sesame tenant create --json against the server's database (Node 24)", async () => {
    const help = await run("npx", ["--no-install", "sesame", "--help"], project, { PATH: node24Path })
    assert.match(help.stdout, /Usage: sesame <command>/)
    const created = parseTenant(
      (await run("npx", ["--no-install", "sesame", "tenant", "create", "--name", "Packed", "--json"], project, {
        PATH: node24Path,
        DATABASE_URL: database?.url ?? "",
        SESAME_SECRET: testSecret
      })).stdout
    )
    assert.strictEqual(created.tenant.name, "Packed")
    assert.match(created.keys.test, /^sk_test_/)
  }, 120_000)

  it("both clients sign in against the installed server on the system Node (send → code → verify → session)", async () => {
    const { keys } = parseTenant(
      (await run("npx", ["--no-install", "sesame", "tenant", "create", "--name", "Clients", "--json"], project, {
        PATH: node24Path,
        DATABASE_URL: database?.url ?? "",
        SESAME_SECRET: testSecret
      })).stdout
    )
    const url = server?.url ?? ""
    const [effect, promise] = await Promise.all([
      run(systemNode, ["effect-client.mjs", url, keys.test], project),
      run(systemNode, ["promise-client.mjs", url, keys.test], project)
    ])
    const systemVersion = (await run(systemNode, ["--version"], project)).stdout.trim()
    assert.deepInclude(lastJson(effect.stdout), { node: systemVersion, email: "effect@example.com", wrong: "CodeInvalid" })
    assert.deepInclude(lastJson(promise.stdout), {
      node: systemVersion,
      email: "promise@example.com",
      wrong: { code: "CODE_INVALID", status: 400, attemptsRemaining: 4 }
    })
    for (const output of [effect.stdout, promise.stdout]) {
      const printed = lastJson(output)
      const accessToken = typeof printed === "object" && printed !== null ? Reflect.get(printed, "accessToken") : undefined
      assert.match(String(accessToken), /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/)
    }
  }, 120_000)

  it("the installed server serves the operator console, its stylesheet and script modules (copied into dist by the build)", async () => {
    const url = server?.url ?? ""
    const signin = await fetch(`${url}/console/signin`)
    assert.strictEqual(signin.status, 200)
    assert.include(await signin.text(), "Email me a sign-in code")
    for (const [file, type] of [["console.css", "text/css"], ["console.js", "text/javascript"]] as const) {
      const asset = await fetch(`${url}/console/assets/${file}`)
      assert.strictEqual(asset.status, 200, file)
      assert.include(asset.headers.get("content-type") ?? "", type)
    }
    const operator = JSON.parse((await run("npx", ["--no-install", "sesame", "operator", "add", "--email", "ops@example.com", "--role", "owner", "--json"], project, {
      PATH: node24Path,
      DATABASE_URL: database?.url ?? "",
      SESAME_SECRET: testSecret
    })).stdout.trim().split("\n").at(-1) ?? "{}")
    assert.deepInclude(operator.operator, { email: "ops@example.com", role: "owner" })
  }, 120_000)

  it("in a bundler: both clients bundle for the browser platform (nothing of Node's) and the bundles sign in", async () => {
    const { keys } = parseTenant(
      (await run("npx", ["--no-install", "sesame", "tenant", "create", "--name", "Bundled", "--json"], project, {
        PATH: node24Path,
        DATABASE_URL: database?.url ?? "",
        SESAME_SECRET: testSecret
      })).stdout
    )
    const url = server?.url ?? ""
    for (const [script, email] of [["effect-client", "effect@example.com"], ["promise-client", "promise@example.com"]] as const) {
      const bundle = join(project, "bundle", `${script}.mjs`)
      await run(rolldown, [`${script}.mjs`, "--platform", "browser", "--format", "esm", "--file", bundle], project, { PATH: node24Path })
      const code = readFileSync(bundle, "utf8")
      // one file, self-contained: no import of a package or of a Node built-in is left
      assert.notMatch(code, /^\s*import\s[^;]*from\s*["'][^"'.]/mu, `${script}: an import was left unbundled`)
      // (effect's runtime only feature-detects `process.getBuiltinModule?.("node:async_hooks")`: a string, not an import)
      assert.notMatch(code, /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)["']node:/u, `${script}: a Node built-in reached the browser bundle`)
      // run the bundle where the sesame package cannot be found: only the bundle's own code runs
      const alone = await mkdtemp(join(tmpdir(), "sesame-bundle-"))
      await writeFile(join(alone, "bundle.mjs"), code)
      const printed = lastJson((await run(systemNode, ["bundle.mjs", url, keys.test], alone)).stdout)
      await rm(alone, { recursive: true, force: true })
      assert.deepInclude(printed, { email })
    }
  }, 180_000)

  it("the declarations type-check a consumer under moduleResolution NodeNext and Bundler", async () => {
    await writeFile(join(project, "consumer.ts"), consumerTs)
    await writeFile(join(project, "tsconfig.nodenext.json"), tsconfig("NodeNext", "NodeNext"))
    await writeFile(join(project, "tsconfig.bundler.json"), tsconfig("ESNext", "Bundler"))
    await run(tsc, ["-p", "tsconfig.nodenext.json"], project)
    await run(tsc, ["-p", "tsconfig.bundler.json"], project)
  }, 180_000)
})
