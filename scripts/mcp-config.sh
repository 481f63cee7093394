#!/usr/bin/env bash
# Print an mcp.json for this checkout with absolute paths (for clients started elsewhere).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cat <<JSON
{
  "mcpServers": {
    "scx-mcp": {
      "command": "node",
      "args": ["$root/dist/server/cli.js", "serve"],
      "env": { "SCX_MCP_WORKSPACE": "$PWD" }
    }
  }
}
JSON
