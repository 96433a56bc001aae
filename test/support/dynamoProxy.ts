import { createServer, request, type Server } from 'node:http';

export interface DynamoProxy {
  url: string;
  /** Requests by X-Amz-Target operation (forwarded or throttled). */
  counts: Map<string, number>;
  /** Every partition key the requests named (`pk` of keys and items, `:pk` of key conditions), in order. */
  keys: string[];
  /** Requests answered with a throttling error instead of being forwarded. */
  throttled(): number;
  total(): number;
  reset(): void;
  close(): Promise<void>;
}

/**
 * A loopback HTTP proxy in front of DynamoDB Local that counts the requests it forwards (by
 * X-Amz-Target operation) and, with `throttleRate`, answers that share of them with DynamoDB's own
 * `ProvisionedThroughputExceededException` (HTTP 400) instead, as a table over its capacity does.
 *
 * @example
 * const proxy = await startDynamoProxy(dynamoEndpoint, { throttleRate: 0.05 });
 */
export async function startDynamoProxy(target: string, opts: { throttleRate?: number } = {}): Promise<DynamoProxy> {
  const to = new URL(target);
  const counts = new Map<string, number>();
  const keys: string[] = [];
  let throttled = 0;
  const server: Server = createServer((req, res) => {
    const op = String(req.headers['x-amz-target'] ?? 'unknown').split('.').pop()!;
    counts.set(op, (counts.get(op) ?? 0) + 1);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        keys.push(...partitionKeys(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
      } catch {
        // not JSON: nothing to record
      }
    });
    if (opts.throttleRate && Math.random() < opts.throttleRate) {
      throttled++;
      req.resume();
      const body = JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException', message: 'The level of configured provisioned throughput for the table was exceeded.' });
      res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(body), 'x-amzn-requestid': 'drill-throttle' }).end(body);
      return;
    }
    const fwd = request({ host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    fwd.on('error', () => res.writeHead(502).end());
    req.pipe(fwd);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    keys,
    throttled: () => throttled,
    total: () => [...counts.values()].reduce((a, b) => a + b, 0),
    reset: () => {
      counts.clear();
      keys.length = 0;
    },
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** The `pk` values a DynamoDB request names, wherever they are in it. */
function partitionKeys(body: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (!v || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v)) {
      if ((k === 'pk' || k === ':pk') && typeof (x as { S?: unknown })?.S === 'string') out.push((x as { S: string }).S);
      else walk(x);
    }
  };
  walk(body);
  return out;
}
