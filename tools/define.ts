/**
 * How a tool is declared: schema beside a thin handler; the work lives in core/.
 * Handlers never see the transport: they get a context (engines, progress, log)
 * and return structured content plus a one-paragraph summary for the model.
 */
import type { z } from 'zod';
import type { KernelInfo } from '../core/kernel/fetch.js';
import type { Reader } from '../core/library/reading.js';
import type { LibraryStore } from '../core/library/store.js';
import type { TargetKind } from '../core/model/target.js';
import type { MonitorConfig, MonitorStatus } from '../core/monitor/rules.js';
import type { Actor } from '../core/targets/audit.js';
import type { JobHints, TargetManager } from '../core/targets/manager.js';

/**
 * What a tool may call: the engines one server process shares. The server's composition root
 * (server/engines.ts, ScxEngines) builds them; tools know only this, never the server.
 */
export interface ToolEngines {
  readonly targets: TargetManager;
  /** The sandbox kernel (fetched on first use). */
  kernel(): Promise<KernelInfo>;
  /** The scheduler library. */
  library(): Promise<LibraryStore>;
  /** Deploy with a monitor: baseline, switch, watch, roll back on regression. */
  deployMonitored(buildId: string, target: TargetKind, config: MonitorConfig, opts?: { hints?: JobHints; actor?: Actor }): Promise<MonitorStatus>;
  stopMonitor(target: TargetKind): void;
}

export interface ToolContext {
  engines: ToolEngines;
  /** Who is asking (the MCP client's name from initialize): the host audit log records it. */
  actor: Actor;
  /** Report progress (shown by clients that asked for it; always logged). */
  progress(message: string, progress?: number, total?: number): Promise<void>;
  log(level: 'debug' | 'info' | 'warning' | 'error', message: string): Promise<void>;
  signal: AbortSignal;
  /** The client's model, when the client declared sampling (MCP sampling/createMessage): one short completion per call. */
  sample?: Reader;
}

export interface ToolResult<O> {
  structured: O;
  summary: string;
  /** Extra content blocks (e.g. a chart as an image). */
  images?: { data: string; mimeType: string }[];
  /** Resources worth reading beside the result (e.g. a whole verifier log, scx://logs/<id>): resource_link blocks. */
  links?: { uri: string; name: string; description?: string; mimeType?: string }[];
}

export interface ToolDefinition<I extends z.ZodRawShape = z.ZodRawShape, O extends z.ZodRawShape = z.ZodRawShape> {
  name: string;
  title: string;
  description: string;
  input: I;
  output: O;
  annotations: { readOnlyHint: boolean; destructiveHint: boolean; idempotentHint: boolean; openWorldHint: boolean };
  handle(input: z.infer<z.ZodObject<I>>, ctx: ToolContext): Promise<ToolResult<z.infer<z.ZodObject<O>>>>;
}

export function defineTool<I extends z.ZodRawShape, O extends z.ZodRawShape>(def: ToolDefinition<I, O>): ToolDefinition<I, O> {
  return def;
}
