/**
 * An MCP client connected to a server in the same process (the SDK's in-memory
 * transport): `scx-mcp call` and scripts use it, so they take exactly the path a
 * remote client takes — schema validation, handlers, structured results, progress.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { ScxEngines } from './engines.js';
import { createServer } from './compose.js';

export async function connectInProcess(engines: ScxEngines): Promise<{ client: Client; close: () => Promise<void> }> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const server = createServer(engines);
  await server.connect(serverSide);
  const client = new Client({ name: 'scx-mcp-cli', version: '0.1.0' });
  await client.connect(clientSide);
  return {
    client,
    close: async () => {
      await client.close();
      await server.close();
    },
  };
}

export async function callTool(
  engines: ScxEngines,
  name: string,
  args: Record<string, unknown>,
  onProgress?: (message: string) => void,
): Promise<CallToolResult> {
  const { client, close } = await connectInProcess(engines);
  try {
    return (await client.callTool({ name, arguments: args }, undefined, {
      onprogress: (p) => onProgress?.(p.message ?? `${p.progress}${p.total ? `/${p.total}` : ''}`),
      timeout: 3_600_000,
      resetTimeoutOnProgress: true,
    })) as CallToolResult;
  } finally {
    await close();
  }
}
