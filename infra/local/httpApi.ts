import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';

export type HttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2 | string | undefined | void>;

/** A route as API Gateway writes it: `POST /dingtalk/{tenantId}/callback`. */
export interface Route {
  method: string;
  path: string;
  handler: () => Promise<HttpHandler>;
}

const MAX_BODY = 10 * 1024 * 1024; // API Gateway's own payload limit

function matcher(path: string): (p: string) => Record<string, string> | undefined {
  const names: string[] = [];
  const re = new RegExp(`^${path.replace(/\{(\w+)\}/g, (_, n) => (names.push(n), '([^/]+)'))}$`);
  return (p) => {
    const m = re.exec(p);
    return m ? Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1])])) : undefined;
  };
}

export function lambdaContext(functionName: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer | 'too_large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) return 'too_large';
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Turns an HTTP request into an API Gateway HTTP API payload v2 event, as API Gateway does. */
export function toEvent(req: IncomingMessage, routeKey: string, pathParameters: Record<string, string>, body: Buffer): APIGatewayProxyEventV2 {
  const url = new URL(req.url ?? '/', 'http://local');
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
  const text = body.length ? body.toString('utf8') : undefined;
  const isText = text !== undefined && Buffer.from(text, 'utf8').equals(body);
  const now = Date.now();
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    queryStringParameters: Object.keys(query).length ? query : undefined,
    pathParameters,
    body: body.length ? (isText ? text : body.toString('base64')) : undefined,
    isBase64Encoded: body.length > 0 && !isText,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'localhost',
      http: { method: req.method ?? 'GET', path: url.pathname, protocol: 'HTTP/1.1', sourceIp: req.socket.remoteAddress ?? '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: new Date(now).toISOString(),
      timeEpoch: now,
    },
  };
}

/**
 * Serves `routes` like API Gateway's HTTP API: unknown routes 404, results mapped back to HTTP
 * (a plain string result becomes a 200 JSON body, as with payload v2).
 */
export async function startHttpApi(routes: Route[], port: number, host = '127.0.0.1'): Promise<{ url: string; server: Server }> {
  const compiled = routes.map((r) => ({ ...r, match: matcher(r.path), routeKey: `${r.method} ${r.path}` }));
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    let params: Record<string, string> | undefined;
    const route = compiled.find((r) => r.method === req.method && (params = r.match(path)));
    if (!route) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Not Found' }));
      return;
    }
    const body = await readBody(req);
    if (body === 'too_large') {
      res.writeHead(413, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Request Entity Too Large' }));
      return;
    }
    try {
      const handler = await route.handler();
      const out = await handler(toEvent(req, route.routeKey, params!, body), lambdaContext(route.routeKey));
      const result: APIGatewayProxyStructuredResultV2 = typeof out === 'string' || out === undefined ? { statusCode: 200, body: out ?? '', headers: { 'content-type': 'application/json' } } : out;
      res.writeHead(result.statusCode ?? 200, result.headers as Record<string, string>);
      res.end(result.isBase64Encoded ? Buffer.from(result.body ?? '', 'base64') : result.body ?? '');
    } catch (e) {
      console.error(`[http-api] ${route.routeKey} failed:`, (e as Error).message);
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Internal Server Error' }));
    }
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const { port: actual } = server.address() as { port: number };
  return { url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${actual}`, server };
}
