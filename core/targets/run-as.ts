/**
 * Least privilege for host commands. Loading, unloading and reading sched_ext state need root;
 * a workload command (profile_workload on the host, the monitor's SLO probe on the host) does not,
 * so it runs as the user who asked for it:
 *
 *   1. --run-as USER|UID[:GROUP|GID] (`--run-as root` is the only way to get root);
 *   2. else, when the server runs as root under sudo, SUDO_UID / SUDO_GID (the invoking user);
 *   3. else, when the server is not root, the server's own user (nothing to drop);
 *   4. else (root, no sudo, no --run-as): refused, with what to do.
 *
 * Privileges are dropped in the child by setpriv (util-linux): --reuid, --regid, --clear-groups,
 * with an environment of that user's own (PATH, HOME, USER, LOGNAME, SHELL, LANG, TERM — none of the
 * server's, so no token leaks) in that user's home directory (or /tmp).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { execGroup } from './host-exec.js';
import { ScxError } from '../errors.js';
import { appendAudit, type Actor, type AuditEvent } from './audit.js';

export type RunAsSpec = { kind: 'root' } | { kind: 'id'; uid: number; group?: string } | { kind: 'name'; user: string; group?: string };

/** Whom host commands run as. */
export interface HostUser {
  uid: number;
  gid: number;
  name: string | null;
  home: string | null;
  /** how it was chosen, for messages: "--run-as 65534", "SUDO_UID", "the server's own user" */
  source: string;
}

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/;
const ID = /^\d{1,10}$/;

/** `--run-as` syntax: root | USER | UID, each optionally :GROUP or :GID. Throws BAD_INPUT with the accepted forms. */
export function parseRunAs(spec: string): RunAsSpec {
  const bad = () =>
    new ScxError(
      'BAD_INPUT',
      `--run-as "${spec}" is not a user`,
      'give a user name or uid, optionally with :group or :gid (e.g. --run-as alice, --run-as 1000:1000); --run-as root runs host commands as root',
    );
  const m = /^([^:]+)(?::([^:]+))?$/.exec(spec.trim());
  if (!m) throw bad();
  const [, user, group] = m as unknown as [string, string, string | undefined];
  if (group !== undefined && !ID.test(group) && !NAME.test(group)) throw bad();
  if (user === 'root' && group === undefined) return { kind: 'root' };
  if (ID.test(user)) {
    const uid = Number(user);
    if (uid > 0xfffffffe) throw bad();
    return { kind: 'id', uid, ...(group !== undefined ? { group } : {}) };
  }
  if (!NAME.test(user)) throw bad();
  return { kind: 'name', user, ...(group !== undefined ? { group } : {}) };
}

/** /etc/passwd lines → entries (pure). */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const l of text.split('\n')) {
    const f = l.split(':');
    if (f.length < 7 || !ID.test(f[2]!) || !ID.test(f[3]!)) continue;
    out.push({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5]! });
  }
  return out;
}

export interface UserDb {
  user(nameOrUid: string): PasswdEntry | undefined;
  group(nameOrGid: string): number | undefined;
}

/** The system's users and groups, through NSS (getent). */
export const systemUserDb: UserDb = {
  user(key) {
    try {
      return parsePasswd(execFileSync('getent', ['passwd', key], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }))[0];
    } catch {
      return undefined;
    }
  },
  group(key) {
    if (ID.test(key)) return Number(key);
    try {
      const f = execFileSync('getent', ['group', key], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
        .split('\n')[0]!
        .split(':');
      return f[2] && ID.test(f[2]) ? Number(f[2]) : undefined;
    } catch {
      return undefined;
    }
  },
};

const REFUSE_HINT =
  'start the server with sudo from your own account (host commands then run as you), or pass --run-as USER; --run-as root runs them as root, if that is really meant';

/**
 * Whom host commands run as (see the module comment). Throws BAD_INPUT when that cannot be decided
 * or cannot be done: an unknown user, a non-root server asked to switch users, root with no one to
 * drop to.
 */
export function resolveHostUser(o: { runAs?: string; env: NodeJS.ProcessEnv; uid: number; gid: number; db: UserDb }): HostUser {
  const self = (source: string): HostUser => {
    const pw = o.db.user(String(o.uid));
    return { uid: o.uid, gid: o.gid, name: pw?.name ?? null, home: pw?.home ?? null, source };
  };
  const group = (g: string | undefined, fallback: number | undefined, who: string): number => {
    if (g !== undefined) {
      const gid = o.db.group(g);
      if (gid === undefined) throw new ScxError('BAD_INPUT', `no group "${g}" on this machine (in --run-as)`, 'give an existing group name or a numeric gid');
      return gid;
    }
    if (fallback === undefined)
      throw new ScxError('BAD_INPUT', `${who} has no entry in the user database, so its group is unknown`, 'give the group too: --run-as UID:GID');
    return fallback;
  };
  let user: HostUser;
  if (o.runAs !== undefined) {
    const spec = parseRunAs(o.runAs);
    const src = `--run-as ${o.runAs}`;
    if (spec.kind === 'root') {
      user = { uid: 0, gid: 0, name: 'root', home: o.db.user('0')?.home ?? '/root', source: src };
    } else if (spec.kind === 'id') {
      const pw = o.db.user(String(spec.uid));
      user = { uid: spec.uid, gid: group(spec.group, pw?.gid, `uid ${spec.uid}`), name: pw?.name ?? null, home: pw?.home ?? null, source: src };
    } else {
      const pw = o.db.user(spec.user);
      if (!pw) throw new ScxError('BAD_INPUT', `no user "${spec.user}" on this machine (in --run-as)`, 'give an existing user name, or a numeric uid:gid');
      user = { uid: pw.uid, gid: group(spec.group, pw.gid, spec.user), name: pw.name, home: pw.home, source: src };
    }
    if (o.uid !== 0 && (user.uid !== o.uid || user.gid !== o.gid)) {
      throw new ScxError(
        'BAD_INPUT',
        `${src}: the server runs as uid ${o.uid}, which cannot run commands as uid ${user.uid} gid ${user.gid}`,
        'start the server as root (e.g. with sudo), or leave --run-as out: a non-root server runs host commands as itself',
      );
    }
    return user;
  }
  if (o.uid !== 0) return self("the server's own user");
  const sudoUid = o.env.SUDO_UID;
  if (sudoUid !== undefined && sudoUid !== '') {
    if (!ID.test(sudoUid)) throw new ScxError('BAD_INPUT', `SUDO_UID "${sudoUid}" is not a uid`, REFUSE_HINT);
    const uid = Number(sudoUid);
    if (uid === 0)
      throw new ScxError('BAD_INPUT', 'host commands would run as root: the server was started with sudo by root itself (SUDO_UID=0)', REFUSE_HINT);
    const pw = o.db.user(sudoUid);
    const sudoGid = o.env.SUDO_GID;
    if (sudoGid !== undefined && sudoGid !== '' && !ID.test(sudoGid)) throw new ScxError('BAD_INPUT', `SUDO_GID "${sudoGid}" is not a gid`, REFUSE_HINT);
    const gid = sudoGid ? Number(sudoGid) : pw?.gid;
    if (gid === undefined)
      throw new ScxError('BAD_INPUT', `SUDO_UID ${uid} has no entry in the user database and SUDO_GID is not set`, 'pass --run-as UID:GID');
    return { uid, gid, name: pw?.name ?? null, home: pw?.home ?? null, source: 'SUDO_UID (the user who started the server with sudo)' };
  }
  throw new ScxError(
    'BAD_INPUT',
    'refusing to run a command on the host as root: the server runs as root, was not started through sudo, and has no --run-as',
    REFUSE_HINT,
  );
}

/** How one host command is started: the program, its arguments, environment and directory. */
export interface HostCommandLine {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** the same, as one /bin/sh command (for a program that runs its command through sh -c, like scx-profile) */
  shell: string;
}

export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function setprivPath(): string {
  for (const p of ['/usr/bin/setpriv', '/bin/setpriv', '/usr/sbin/setpriv', '/sbin/setpriv']) if (existsSync(p)) return p;
  throw new ScxError(
    'BAD_INPUT',
    'setpriv (util-linux) is not installed, so host commands cannot drop root',
    'install util-linux (apt-get install util-linux)',
  );
}

/**
 * The command line that runs `command` through /bin/sh as `user` (pure apart from finding setpriv
 * and the home directory). When `user` is the server's own uid and gid, nothing is dropped and the
 * server's environment (without its token) and directory are kept.
 */
export function hostCommandLine(user: HostUser, command: string, self: { uid: number; gid: number }, env: NodeJS.ProcessEnv = process.env): HostCommandLine {
  const { SCX_MCP_TOKEN: _token, ...kept } = env;
  if (user.uid === self.uid && user.gid === self.gid) {
    return { file: '/bin/sh', args: ['-c', command], env: kept as Record<string, string>, cwd: process.cwd(), shell: command };
  }
  const home = user.home && existsSync(user.home) && statSync(user.home).isDirectory() ? user.home : null;
  const own: Record<string, string> = {
    PATH: env.PATH || '/usr/local/bin:/usr/bin:/bin',
    HOME: home ?? '/tmp',
    USER: user.name ?? String(user.uid),
    LOGNAME: user.name ?? String(user.uid),
    SHELL: '/bin/sh',
  };
  for (const k of ['LANG', 'LC_ALL', 'TERM'] as const) if (env[k]) own[k] = env[k]!;
  const args = [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--', '/bin/sh', '-c', command];
  const file = setprivPath();
  return { file, args, env: own, cwd: home ?? '/tmp', shell: `exec ${[file, ...args].map(shellQuote).join(' ')}` };
}

/**
 * Every workload command on the host goes through here: decided whom it runs as (once; a refusal
 * is thrown on every try), audited, started with privileges dropped.
 */
export class HostCommands {
  private user?: HostUser;
  constructor(readonly opts: { runAs?: string } = {}) {}

  /** Whom host commands run as; throws the refusal when that cannot be decided. */
  who(): HostUser {
    return (this.user ??= resolveHostUser({
      runAs: this.opts.runAs,
      env: process.env,
      uid: process.getuid?.() ?? 0,
      gid: process.getgid?.() ?? 0,
      db: systemUserDb,
    }));
  }

  /** The command line for `command`, audited (for callers that start it themselves, e.g. under scx-profile). */
  prepare(command: string, o: { actor: Actor; purpose: HostCommandPurpose; repeat?: string; audit?: boolean }): HostCommandLine {
    const u = this.who();
    const line = hostCommandLine(u, command, { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 });
    if (o.audit !== false)
      appendAudit(
        { event: 'host_command', purpose: o.purpose, command, uid: u.uid, gid: u.gid, user: u.name, ...(o.repeat ? { repeat: o.repeat } : {}) },
        o.actor,
      );
    return line;
  }

  /** Run `command` on the host as the chosen user (audited unless `audit: false`, for repeats of an audited command). */
  async run(
    command: string,
    o: { timeoutS: number; actor: Actor; purpose: HostCommandPurpose; audit?: boolean },
  ): Promise<{ exitCode: number; stdout: string; stderr: string; wallMs: number }> {
    const line = this.prepare(command, o);
    const { timedOut: _t, ...r } = await execGroup(line.file, line.args, { env: line.env, extendEnv: false, cwd: line.cwd, timeoutS: o.timeoutS });
    return r;
  }
}

type HostCommandPurpose = Extract<AuditEvent, { event: 'host_command' }>['purpose'];
