/**
 * A workload command as the agent gives it: a shell command line with the directory it runs in,
 * extra environment variables, and (in the sandbox) the host paths it may write to. The same
 * shape for profile_workload, benchmark_schedulers, tune_scheduler and the monitor's probe.
 *
 * In the sandbox the guest sees the host's filesystem read-only; `writable` paths get an overlay
 * whose writes stay in the guest's memory (gone with the VM), and `cwd` is writable by default,
 * so `make -j` in a build tree works without touching the host's tree.
 */
import { z } from 'zod';
import { ScxError } from './errors.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const HOST_PATH = /^\/[^\0\n'"\\\s]{0,4095}$/;

export const CommandFields = {
  cwd: z
    .string()
    .regex(HOST_PATH, 'an absolute path without spaces or quotes')
    .optional()
    .describe('directory the command runs in (a host path; in the sandbox it is made writable through an overlay). Default: /tmp'),
  env: z.record(z.string().regex(ENV_NAME, 'a shell variable name'), z.string().max(4096)).optional().describe('extra environment variables for the command'),
  writable: z
    .array(z.string().regex(HOST_PATH, 'an absolute path without spaces or quotes'))
    .max(16)
    .optional()
    .describe('sandbox only: host paths the command writes into (overlays; the writes stay in the VM). $HOME, /tmp and cwd always are'),
};

export interface CommandSpec {
  command: string;
  cwd?: string;
  env?: Record<string, string>;
  writable?: string[];
}

export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The command as one shell line: cd into cwd, export env, then the command in a subshell (the command itself when neither is given). */
export function commandLine(spec: CommandSpec): string {
  if (spec.command.includes('\0')) throw new ScxError('BAD_INPUT', 'the command contains a NUL byte');
  const parts: string[] = [];
  if (spec.cwd) parts.push(`cd ${shellQuote(spec.cwd)} || exit 126`);
  for (const [k, v] of Object.entries(spec.env ?? {})) {
    if (!ENV_NAME.test(k)) throw new ScxError('BAD_INPUT', `environment variable name "${k}" is not a shell name`);
    parts.push(`export ${k}=${shellQuote(v)}`);
  }
  if (!parts.length) return spec.command;
  parts.push(`( ${spec.command}\n)`);
  return parts.join('; ');
}

/** The host paths a command needs writable in the sandbox: its cwd and what it named. */
export function writablePaths(spec: Pick<CommandSpec, 'cwd' | 'writable'>): string[] {
  return [...new Set([...(spec.cwd && spec.cwd !== '/tmp' && !spec.cwd.startsWith('/tmp/') ? [spec.cwd] : []), ...(spec.writable ?? [])])];
}
