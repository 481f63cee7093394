/**
 * The client's model, lent through MCP sampling (sampling/createMessage), as a core Reader:
 * offered only to a client that declared the sampling capability, sent on the tool call's own
 * request (so it travels the same HTTP stream), bounded in time, and cancelled with the call.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { CreateMessageResultSchema, type CreateMessageRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Reader } from '../core/library/reading.js';

/** How long a client (and a person approving the request in it) has to answer. */
export const SAMPLING_TIMEOUT_MS = 90_000;

type SendRequest = (
  request: CreateMessageRequest,
  schema: typeof CreateMessageResultSchema,
  options: { signal?: AbortSignal; timeout: number },
) => Promise<{ model: string; content: unknown }>;

export function clientReader(server: McpServer, sendRequest: SendRequest | undefined): Reader | undefined {
  if (!sendRequest || !server.server.getClientCapabilities()?.sampling) return undefined;
  return async (req, signal) => {
    const r = await sendRequest(
      {
        method: 'sampling/createMessage',
        params: {
          messages: [{ role: 'user', content: { type: 'text', text: req.user } }],
          systemPrompt: req.system,
          maxTokens: req.maxTokens,
          includeContext: 'none',
          temperature: 0,
          // a short classification: a fast, cheap model does
          modelPreferences: { speedPriority: 0.8, costPriority: 0.6, intelligencePriority: 0.5 },
        },
      },
      CreateMessageResultSchema,
      { signal, timeout: SAMPLING_TIMEOUT_MS },
    );
    // content is one block, or (newer protocol revisions) a list of them: the text blocks are the answer
    const blocks = (Array.isArray(r.content) ? r.content : [r.content]) as { type?: string; text?: string }[];
    return { text: blocks.map((b) => (b?.type === 'text' && typeof b.text === 'string' ? b.text : '')).join('\n'), model: String(r.model ?? '') };
  };
}
