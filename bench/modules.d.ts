// Just enough typing for the two untyped packages the benchmark uses (no @types devDependencies).

declare module "autocannon" {
  namespace autocannon {
    interface Request {
      method?: string
      path?: string
      headers?: Record<string, string>
      body?: string | Buffer
      setupRequest?: (request: Request, context: Record<string, unknown>) => Request | null | undefined
      onResponse?: (status: number, body: string, context: Record<string, unknown>, headers: Record<string, string>) => void
    }
    interface Options {
      url: string
      connections?: number
      duration?: number
      amount?: number
      timeout?: number
      pipelining?: number
      headers?: Record<string, string>
      method?: string
      body?: string
      requests?: ReadonlyArray<Request>
    }
    interface Histogram {
      average: number
      mean: number
      stddev: number
      min: number
      max: number
      total: number
      sent: number
      p50: number
      p90: number
      p97_5: number
      p99: number
      p99_9: number
    }
    interface Result {
      duration: number
      errors: number
      timeouts: number
      non2xx: number
      resets: number
      "2xx": number
      "4xx": number
      "5xx": number
      statusCodeStats: Record<string, { count: number }>
      latency: Histogram
      requests: Histogram
    }
    interface Instance extends PromiseLike<Result> {
      stop(): void
    }
  }
  function autocannon(options: autocannon.Options): autocannon.Instance
  export default autocannon
}

declare module "pg" {
  interface QueryResult<R> {
    rows: Array<R>
    rowCount: number | null
  }
  interface Queryable {
    query<R = Record<string, unknown>>(text: string, values?: ReadonlyArray<unknown>): Promise<QueryResult<R>>
  }
  class Pool implements Queryable {
    constructor(config: { connectionString: string; max?: number })
    query<R = Record<string, unknown>>(text: string, values?: ReadonlyArray<unknown>): Promise<QueryResult<R>>
    end(): Promise<void>
  }
  class Client implements Queryable {
    constructor(config: { connectionString: string })
    connect(): Promise<void>
    query<R = Record<string, unknown>>(text: string, values?: ReadonlyArray<unknown>): Promise<QueryResult<R>>
    end(): Promise<void>
  }
  const pg: { Pool: typeof Pool; Client: typeof Client }
  export default pg
}
