/**
 * The host audit log: one JSON line per thing scx-mcp changed or ran on the host — deploys,
 * rollbacks (and what triggered them), host commands (and the uid they ran as) — with the time and
 * who asked (the MCP client's name, or the operator's command line). Append-only
 * (<run dir>/audit.jsonl, opened O_APPEND, mode 0600), so it survives restarts and is never
 * rewritten; read back through the scx://audit resource.
 *
 * Engines know nothing of MCP: callers pass a plain actor.
 */
import { closeSync, constants, fchmodSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ScxError } from '../errors.js';
import { ensureHostRunDir, hostRunDir } from './run-dir.js';

/** Who asked: the MCP client ("claude-code 1.2.3"), or the operator's command line ("scx-mcp monitor"). */
export interface Actor {
  client: string;
}

export const OPERATOR: Actor = { client: 'operator (scx-mcp command line)' };

/** What triggered a rollback. */
export type RollbackTrigger = 'tool' | 'monitor_rule' | 'monitor_probe' | 'ejection' | 'shutdown';

/** What scx-mcp did with scx_loader's scheduler (org.scx.Loader on the system bus). */
export interface ScxLoaderAudit {
  action: 'stopped' | 'restored' | 'restore_failed';
  scheduler: string;
  mode: number;
  args: string[];
  error?: string;
}

export type AuditEvent =
  | {
      event: 'deploy';
      target: 'host';
      buildId: string;
      name: string;
      sourceSha256: string | null;
      origin: { kind: string; entry?: string; version?: number; path?: string };
      params: Record<string, number | boolean>;
      hints: Record<string, number> | Array<Record<string, string | number>> | null;
      replaced: string | null;
      outcome: 'ok' | 'failed';
      error?: string;
      /** scx_loader's scheduler, stopped through D-Bus before the load (and run again if the load failed) */
      scxLoader?: ScxLoaderAudit;
    }
  | {
      event: 'rollback';
      target: 'host';
      trigger: RollbackTrigger;
      reason: string | null;
      from: string | null;
      to: string | null;
      changed: boolean;
      outcome: 'ok' | 'failed';
      error?: string;
      /** scx_loader asked to run its scheduler again (a rollback to the bottom of the stack) */
      scxLoader?: ScxLoaderAudit;
    }
  | {
      event: 'host_command';
      purpose: 'profile_workload' | 'monitor_probe' | 'monitor_hook' | 'command';
      command: string;
      uid: number;
      gid: number;
      user: string | null;
      /** for the monitor hook: the event that ran it */
      trigger?: string;
      /** how often it repeats (the monitor's probe runs every sample; it is logged once) */
      repeat?: string;
    };

export type AuditEntry = AuditEvent & { at: string; actor: Actor; pid: number };

export function auditPath(): string {
  return join(hostRunDir(), 'audit.jsonl');
}

/** One line of the log, as written (pure; for tests). */
export function auditLine(event: AuditEvent, actor: Actor, at = new Date()): string {
  const entry: AuditEntry = { at: at.toISOString(), actor: { client: actor.client }, pid: process.pid, ...event };
  return `${JSON.stringify(entry)}\n`;
}

/** Throws (as appendAudit would) unless the log can be opened for appending; creates it (0600) if needed. */
export function assertAuditWritable(): void {
  closeSync(openAppend());
}

function openAppend(): number {
  try {
    ensureHostRunDir();
    return openSync(auditPath(), constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  } catch (e) {
    throw new ScxError(
      'BAD_INPUT',
      `cannot write the host audit log ${auditPath()}: ${(e as Error).message}`,
      'the server needs a writable run directory (SCX_MCP_RUN_DIR, default /run/scx-mcp); nothing was done on the host',
    );
  }
}

/**
 * Append one entry. Throws (with the reason) when the log cannot be written: host actions are
 * audited before or as they happen, so a log that cannot be written stops them.
 */
export function appendAudit(event: AuditEvent, actor: Actor): void {
  const line = Buffer.from(auditLine(event, actor));
  const fd = openAppend();
  try {
    const st = fstatSync(fd);
    if ((st.mode & 0o777) !== 0o600 && st.uid === process.getuid?.()) fchmodSync(fd, 0o600);
    writeSync(fd, line); // one write of one line: O_APPEND keeps concurrent writers' lines whole
  } finally {
    closeSync(fd);
  }
}

export interface AuditTail {
  file: string;
  entries: AuditEntry[];
  /** lines in the window that were not valid JSON (a torn write, a foreign line) */
  unreadable: number;
  /** older entries exist beyond the window */
  truncated: boolean;
}

/** The most recent entries: at most `maxLines`, from at most the last `maxBytes` of the file. */
export function readAuditTail(o: { maxLines?: number; maxBytes?: number } = {}): AuditTail {
  const maxLines = o.maxLines ?? 200;
  const maxBytes = o.maxBytes ?? 64 * 1024;
  const file = auditPath();
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { file, entries: [], unreadable: 0, truncated: false };
    throw e;
  }
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(0, size - maxBytes);
    const buf = Buffer.alloc(size - start);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, start + got);
      if (n === 0) break;
      got += n;
    }
    let lines = buf.subarray(0, got).toString('utf8').split('\n');
    let truncated = start > 0;
    if (start > 0) lines = lines.slice(1); // the first line in the window is cut
    lines = lines.filter((l) => l.trim() !== '');
    if (lines.length > maxLines) {
      truncated = true;
      lines = lines.slice(-maxLines);
    }
    const entries: AuditEntry[] = [];
    let unreadable = 0;
    for (const l of lines) {
      try {
        entries.push(JSON.parse(l) as AuditEntry);
      } catch {
        unreadable++;
      }
    }
    return { file, entries, unreadable, truncated };
  } finally {
    closeSync(fd);
  }
}
