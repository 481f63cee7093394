/**
 * HTTP transports: Streamable HTTP (POST/GET/DELETE /mcp, with SSE streams) and
 * the older HTTP+SSE pair (GET /sse, POST /messages) for clients that still use it.
 *
 * Safety: binds 127.0.0.1 unless told otherwise; binding anywhere else requires a
 * bearer token, and so does a server that may touch the host (--allow-host: see token.ts), wherever
 * it listens; a request carrying a foreign Origin header is refused (DNS rebinding).
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { ScxEngines } from './engines.js';
import { ScxError } from '../core/errors.js';
import { createServer } from './compose.js';

export interface HttpOptions {
  port: number;
  host?: string;
  token?: string;
  /** Refuse to start without a token (a server started with --allow-host). */
  requireToken?: boolean;
  /** Extra allowed Origin values besides http(s)://localhost|127.0.0.1|[::1][:port]. */
  allowedOrigins?: string[];
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\./.test(host);
}

export function originAllowed(origin: string | undefined, extra: string[] = []): boolean {
  if (!origin) return true; // not a browser request
  if (extra.includes(origin)) return true;
  try {
    const u = new URL(origin);
    return (u.protocol === 'http:' || u.protocol === 'https:') && isLoopback(u.hostname);
  } catch {
    return false;
  }
}

function tokenOk(req: IncomingMessage, token: string | undefined): boolean {
  if (!token) return true;
  const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1]!);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function deny(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > 4 * 1024 * 1024) throw new Error('request body over 4 MiB');
    chunks.push(c as Buffer);
  }
  return chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
}

export async function startHttp(engines: ScxEngines, opts: HttpOptions): Promise<{ server: Server; url: string; close: () => Promise<void> }> {
  const host = opts.host ?? '127.0.0.1';
  if (!isLoopback(host) && !opts.token) {
    throw new ScxError('BAD_INPUT', `refusing to listen on ${host} without a token`, 'pass --token (or SCX_MCP_TOKEN), or bind to 127.0.0.1');
  }
  if (opts.requireToken && !opts.token) {
    throw new ScxError(
      'BAD_INPUT',
      'refusing to serve HTTP with host access and no token',
      'the CLI generates one with --allow-host; callers of startHttp pass it',
    );
  }
  const streamable = new Map<string, StreamableHTTPServerTransport>();
  const legacy = new Map<string, SSEServerTransport>();

  const server = createHttpServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (!originAllowed(req.headers.origin, opts.allowedOrigins)) return deny(res, 403, `origin ${req.headers.origin} is not allowed`);
      if (!tokenOk(req, opts.token)) return deny(res, 401, 'missing or wrong bearer token');

      if (url.pathname === '/mcp') {
        const sid = req.headers['mcp-session-id'];
        let transport = typeof sid === 'string' ? streamable.get(sid) : undefined;
        const body = req.method === 'POST' ? await readJson(req) : undefined;
        if (!transport) {
          if (req.method !== 'POST' || !isInitializeRequest(body)) return deny(res, 400, 'no valid session: send an initialize request first');
          transport = new StreamableHTTPServerTransport({
            sessionIdGenerator: () => randomUUID(),
            onsessioninitialized: (id) => void streamable.set(id, transport!),
          });
          transport.onclose = () => {
            if (transport!.sessionId) streamable.delete(transport!.sessionId);
          };
          await createServer(engines).connect(transport);
        }
        await transport.handleRequest(req, res, body);
        return;
      }
      if (url.pathname === '/sse' && req.method === 'GET') {
        const t = new SSEServerTransport('/messages', res);
        legacy.set(t.sessionId, t);
        res.on('close', () => legacy.delete(t.sessionId));
        await createServer(engines).connect(t);
        return;
      }
      if (url.pathname === '/messages' && req.method === 'POST') {
        const t = legacy.get(url.searchParams.get('sessionId') ?? '');
        if (!t) return deny(res, 404, 'unknown SSE session');
        await t.handlePostMessage(req, res, await readJson(req));
        return;
      }
      if (url.pathname === '/health') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, name: 'scx-mcp' }));
        return;
      }
      deny(res, 404, 'not found: use /mcp (Streamable HTTP) or /sse (legacy SSE)');
    } catch (e) {
      if (!res.headersSent) deny(res, 500, String((e as Error).message ?? e));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  return {
    server,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: async () => {
      for (const t of streamable.values()) await t.close().catch(() => {});
      for (const t of legacy.values()) await t.close().catch(() => {});
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
