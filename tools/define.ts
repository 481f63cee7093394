/**
 * How a tool is declared: schema beside a thin handler; the work lives in core/.
 * Handlers never see the transport: they get a context (engines, progress, log)
 * and return structured content plus a one-paragraph summary for the model.
 */
import type { z } from 'zod';
import type { ScxEngines } from '../core/engines.js';
import type { Actor } from '../core/targets/audit.js';

export interface ToolContext {
  engines: ScxEngines;
  /** Who is asking (the MCP client's name from initialize): the host audit log records it. */
  actor: Actor;
  /** Report progress (shown by clients that asked for it; always logged). */
  progress(message: string, progress?: number, total?: number): Promise<void>;
  log(level: 'debug' | 'info' | 'warning' | 'error', message: string): Promise<void>;
  signal: AbortSignal;
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
