import { createServer, request, type Server } from 'node:http';

/** A loopback HTTP proxy that counts the requests it forwards (by X-Amz-Target operation). */
export async function startCountingProxy(target: string): Promise<{ url: string; counts: Map<string, number>; total(): number; reset(): void; close(): Promise<void> }> {
  const to = new URL(target);
  const counts = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const op = String(req.headers['x-amz-target'] ?? 'unknown').split('.').pop()!;
    counts.set(op, (counts.get(op) ?? 0) + 1);
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
    total: () => [...counts.values()].reduce((a, b) => a + b, 0),
    reset: () => counts.clear(),
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
