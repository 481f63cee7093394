/**
 * Composition: one McpServer per client session, every tool from tools/ registered
 * with its input and output schemas and annotations; the engines are shared.
 * Errors become tool results with isError (the server stays up), written for the
 * model: what went wrong and what to do next.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SubscribeRequestSchema, UnsubscribeRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { ScxEngines } from './engines.js';
import { isScxError } from '../core/errors.js';
import type { ToolContext, ToolDefinition } from '../tools/define.js';
import { allTools } from '../tools/index.js';
import { boundLogData, boundResourceContents, boundToolResult, cutText, LOG_MESSAGE_CHARS } from './budget.js';
import { registerResources } from './resources.js';
import { clientReader } from './sampling.js';

export const SERVER_NAME = 'scx-mcp';
export const SERVER_VERSION = '0.1.0';

type Extra = {
  signal: AbortSignal;
  _meta?: { progressToken?: string | number };
  sendNotification: (n: {
    method: 'notifications/progress';
    params: { progressToken: string | number; progress: number; total?: number; message?: string };
  }) => Promise<void>;
  sendRequest?: Parameters<typeof clientReader>[1];
};

export function errorResult(e: unknown): CallToolResult {
  if (isScxError(e)) {
    return {
      isError: true,
      content: [{ type: 'text', text: `${e.message}${e.hint ? `\nWhat to do: ${e.hint}` : ''}` }],
    };
  }
  const msg =
    e instanceof z.ZodError ? `invalid arguments: ${e.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` : String((e as Error)?.message ?? e);
  return { isError: true, content: [{ type: 'text', text: `scx-mcp internal error: ${msg}` }] };
}

export function registerTool(server: McpServer, engines: ScxEngines, def: ToolDefinition): void {
  server.registerTool(
    def.name,
    {
      title: def.title,
      description: def.description,
      inputSchema: def.input,
      outputSchema: def.output,
      annotations: { title: def.title, ...def.annotations },
    },
    (async (args: Record<string, unknown>, extra: Extra): Promise<CallToolResult> => {
      let step = 0;
      const client = server.server.getClientVersion();
      const ctx: ToolContext = {
        engines,
        actor: { client: client ? `${client.name} ${client.version}` : 'unknown MCP client' },
        signal: extra.signal,
        sample: clientReader(server, extra.sendRequest),
        async progress(message, progress, total) {
          step++;
          await server.sendLoggingMessage({ level: 'info', logger: def.name, data: message }).catch(() => {});
          const token = extra._meta?.progressToken;
          if (token !== undefined) {
            await extra
              .sendNotification({
                method: 'notifications/progress',
                params: { progressToken: token, progress: progress ?? step, total, message: cutText(message, LOG_MESSAGE_CHARS) },
              })
              .catch(() => {});
          }
        },
        async log(level, message) {
          await server.sendLoggingMessage({ level, logger: def.name, data: message }).catch(() => {});
        },
      };
      try {
        const parsed = z.object(def.input).parse(args);
        const r = await def.handle(parsed as never, ctx);
        // every result within the output budget: long fields cut where they are, the whole kept as scx://logs/<id>
        return await boundToolResult({ summary: r.summary, structured: r.structured, images: r.images, links: r.links });
      } catch (e) {
        const er = errorResult(e);
        return boundToolResult({ summary: er.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n'), isError: true }).catch(() => ({
          isError: true,
          content: [{ type: 'text' as const, text: cutText(er.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n'), 16 * 1024) }],
        }));
      }
    }) as never,
  );
}

export function createServer(engines: ScxEngines): McpServer {
  const server = new McpServer(
    { name: SERVER_NAME, version: SERVER_VERSION },
    {
      capabilities: { logging: {}, resources: { subscribe: true, listChanged: true }, prompts: {} },
      instructions:
        'scx-mcp builds, verifies and deploys Linux sched_ext CPU schedulers safely. Typical flow: profile_workload → search_library → build_scheduler (entry+params, a patch, or your own source) → verify_bpf → deploy_scx (sandbox first) → profile_workload on the same target → record_result → rollback if worse. Read the scx://memory resource first: it says what worked before.',
    },
  );
  // the output budget, centrally: every log message this server sends and every resource it serves
  const sendLog = server.sendLoggingMessage.bind(server);
  server.sendLoggingMessage = ((params: Parameters<typeof sendLog>[0], sessionId?: string) =>
    sendLog({ ...params, data: boundLogData(params.data) }, sessionId)) as typeof server.sendLoggingMessage;
  const registerResource = server.registerResource.bind(server) as (...a: unknown[]) => unknown;
  server.registerResource = ((...a: unknown[]) => {
    const read = a[a.length - 1] as (...x: unknown[]) => Promise<{ contents: Array<Record<string, unknown>> }>;
    return registerResource(...a.slice(0, -1), async (...x: unknown[]) => boundResourceContents(await read(...x)));
  }) as typeof server.registerResource;
  for (const def of allTools) registerTool(server, engines, def as unknown as ToolDefinition);
  registerResources(server, engines);
  // resources/subscribe: this session's client gets resources/updated for the URIs it subscribed to
  const subscribed = new Set<string>();
  server.server.setRequestHandler(SubscribeRequestSchema, async (req) => {
    subscribed.add(req.params.uri);
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, async (req) => {
    subscribed.delete(req.params.uri);
    return {};
  });
  // monitor events reach this session's client as log messages, and as updates of the monitor and
  // target resources when it subscribed to them
  const unsubscribe = engines.onMonitorEvent((target, e) => {
    if (e.kind === 'sample') return;
    const level =
      e.kind === 'rollback' || e.kind === 'regression' || e.kind === 'scheduler_exit' || e.kind === 'vm_died'
        ? 'error'
        : e.kind === 'alert' || e.kind === 'probe_failed'
          ? 'warning'
          : 'info';
    void server.sendLoggingMessage({ level, logger: `monitor/${target}`, data: `${e.kind}: ${e.message}` }).catch(() => {});
    for (const uri of [`scx://monitor/${target}`, `scx://targets/${target}`]) {
      if (subscribed.has(uri)) void server.server.sendResourceUpdated({ uri }).catch(() => {});
    }
  });
  const prevOnClose = server.server.onclose;
  server.server.onclose = () => {
    unsubscribe();
    prevOnClose?.();
  };
  return server;
}
