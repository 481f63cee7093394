/** Every MCP tool scx-mcp offers, in the order an agent typically uses them. */
import { benchmarkSchedulersTool } from './benchmark-schedulers.js';
import { buildSchedulerTool } from './build-scheduler.js';
import { deployScxTool } from './deploy-scx.js';
import { libraryVersionsTool } from './library-versions.js';
import { profileWorkloadTool } from './profile-workload.js';
import { recordResultTool } from './record-result.js';
import { rollbackTool } from './rollback.js';
import { rolloutAbortTool, rolloutScxTool, rolloutStatusTool } from './rollout.js';
import { searchLibraryTool } from './search-library.js';
import { tuneSchedulerTool } from './tune-scheduler.js';
import { verifyBpfTool } from './verify-bpf.js';

export const allTools = [
  profileWorkloadTool,
  searchLibraryTool,
  buildSchedulerTool,
  verifyBpfTool,
  benchmarkSchedulersTool,
  tuneSchedulerTool,
  deployScxTool,
  rollbackTool,
  recordResultTool,
  libraryVersionsTool,
  rolloutScxTool,
  rolloutStatusTool,
  rolloutAbortTool,
] as const;
