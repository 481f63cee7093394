/** The pure parts of host security: the audit log's lines and tail, whom host commands run as, the HTTP token file. */
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendAudit, assertAuditWritable, auditLine, auditPath, readAuditTail, type AuditEvent } from '../../core/targets/audit.js';
import { hostCommandLine, parsePasswd, parseRunAs, resolveHostUser, type UserDb } from '../../core/targets/run-as.js';
import { checkGivenToken, hostToken, newToken, readPrivateToken, tokenNotice, tokenPath } from '../../server/token.js';

let dir: string;
const saved = process.env.SCX_MCP_RUN_DIR;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'scx-audit-'));
  process.env.SCX_MCP_RUN_DIR = join(dir, 'run');
});
afterEach(() => {
  if (saved === undefined) delete process.env.SCX_MCP_RUN_DIR;
  else process.env.SCX_MCP_RUN_DIR = saved;
  rmSync(dir, { recursive: true, force: true });
});

const cmd: AuditEvent = { event: 'host_command', purpose: 'profile_workload', command: 'id -u', uid: 65534, gid: 65534, user: 'nobody' };

describe('audit log', () => {
  it('a line is one JSON object with the time, the actor, the pid and the event', () => {
    const line = auditLine(cmd, { client: 'claude-code 1.0' }, new Date('2026-12-01T10:00:00Z'));
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n');
    expect(JSON.parse(line)).toEqual({ at: '2026-12-01T10:00:00.000Z', actor: { client: 'claude-code 1.0' }, pid: process.pid, ...cmd });
  });

  it('appends to <run dir>/audit.jsonl, mode 0600 in a 0700 directory, keeping what earlier processes wrote', () => {
    appendAudit(cmd, { client: 'a' });
    expect(auditPath()).toBe(join(dir, 'run', 'audit.jsonl'));
    expect(statSync(auditPath()).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'run')).mode & 0o777).toBe(0o700);
    appendAudit(
      { event: 'rollback', target: 'host', trigger: 'ejection', reason: 'stall', from: 'fifo', to: null, changed: true, outcome: 'ok' },
      { client: 'b' },
    );
    const lines = readFileSync(auditPath(), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.event, l.actor.client])).toEqual([
      ['host_command', 'a'],
      ['rollback', 'b'],
    ]);
    expect(readAuditTail().entries).toEqual(lines);
  });

  it('a file someone made world-readable is made private again on the next append', () => {
    assertAuditWritable();
    chmodSync(auditPath(), 0o644);
    appendAudit(cmd, { client: 'a' });
    expect(statSync(auditPath()).mode & 0o777).toBe(0o600);
  });

  it('refuses to follow a symlink planted where the log goes', () => {
    assertAuditWritable();
    rmSync(auditPath());
    symlinkSync(join(dir, 'elsewhere'), auditPath());
    expect(() => appendAudit(cmd, { client: 'a' })).toThrow(/cannot write the host audit log .*audit\.jsonl/);
  });

  it('the tail is bounded by lines and bytes, drops a cut first line and counts unreadable ones', () => {
    expect(readAuditTail()).toEqual({ file: auditPath(), entries: [], unreadable: 0, truncated: false });
    for (let i = 0; i < 300; i++) appendAudit({ ...cmd, command: `echo ${i}` }, { client: 'c' });
    const t = readAuditTail({ maxLines: 200 });
    expect(t.entries).toHaveLength(200);
    expect(t.truncated).toBe(true);
    expect((t.entries.at(-1) as { command: string }).command).toBe('echo 299');
    expect((t.entries[0] as { command: string }).command).toBe('echo 100');
    const small = readAuditTail({ maxBytes: 1000 });
    expect(small.unreadable).toBe(0); // the partial first line in the window is dropped, not misread
    expect(small.entries.length).toBeGreaterThan(0);
    expect(small.entries.length).toBeLessThan(1000 / 100);
    expect((small.entries.at(-1) as { command: string }).command).toBe('echo 299');
    appendFileSync(auditPath(), 'not json\n');
    expect(readAuditTail().unreadable).toBe(1);
  });
});

/** An error's message and hint, as the CLI and tool results show them. */
function refusal(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return `${(e as Error).message} | ${(e as { hint?: string }).hint ?? ''}`;
  }
  return 'no error';
}

describe('whom host commands run as', () => {
  const passwd =
    'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\nalice:x:1000:1001::/home/alice:/bin/sh\n# junk\nbad:x:q:0::/:/bin/sh\n';
  const users = parsePasswd(passwd);
  const db: UserDb = {
    user: (k) => users.find((u) => u.name === k || String(u.uid) === k),
    group: (k) => (/^\d+$/.test(k) ? Number(k) : ({ staff: 50 } as Record<string, number>)[k]),
  };
  const asRoot = { env: {}, uid: 0, gid: 0, db };

  it('parses passwd and --run-as forms; rejects what is not a user', () => {
    expect(users.map((u) => u.name)).toEqual(['root', 'nobody', 'alice']);
    expect(parseRunAs('root')).toEqual({ kind: 'root' });
    expect(parseRunAs('65534')).toEqual({ kind: 'id', uid: 65534 });
    expect(parseRunAs('65534:100')).toEqual({ kind: 'id', uid: 65534, group: '100' });
    expect(parseRunAs('alice:staff')).toEqual({ kind: 'name', user: 'alice', group: 'staff' });
    for (const bad of ['', ':1', 'a:b:c', 'al ice', '1:x y', '99999999999', '-1']) expect(() => parseRunAs(bad), bad).toThrow(/--run-as .* is not a user/);
  });

  it('--run-as first; then SUDO_UID/SUDO_GID; root is only ever explicit', () => {
    expect(resolveHostUser({ ...asRoot, runAs: 'alice' })).toMatchObject({ uid: 1000, gid: 1001, name: 'alice', home: '/home/alice' });
    expect(resolveHostUser({ ...asRoot, runAs: 'alice:staff' })).toMatchObject({ uid: 1000, gid: 50 });
    expect(resolveHostUser({ ...asRoot, runAs: '65534' })).toMatchObject({ uid: 65534, gid: 65534, name: 'nobody' });
    expect(resolveHostUser({ ...asRoot, runAs: '4242:4242' })).toMatchObject({ uid: 4242, gid: 4242, name: null });
    expect(resolveHostUser({ ...asRoot, runAs: 'root' })).toMatchObject({ uid: 0, gid: 0 });
    expect(resolveHostUser({ ...asRoot, runAs: '65534', env: { SUDO_UID: '1000' } })).toMatchObject({ uid: 65534 });
    expect(resolveHostUser({ ...asRoot, env: { SUDO_UID: '1000', SUDO_GID: '1001' } })).toMatchObject({
      uid: 1000,
      gid: 1001,
      name: 'alice',
      source: expect.stringMatching(/SUDO_UID/),
    });
    expect(resolveHostUser({ ...asRoot, env: { SUDO_UID: '1000' } })).toMatchObject({ gid: 1001 }); // the passwd group
  });

  it('refuses, saying what to do: root with no one to drop to, sudo by root, unknown users, a non-root server switching', () => {
    expect(refusal(() => resolveHostUser(asRoot))).toMatch(/^refusing to run a command on the host as root.*\| .*sudo .*--run-as USER.*--run-as root/);
    expect(() => resolveHostUser({ ...asRoot, env: { SUDO_UID: '0' } })).toThrow(/SUDO_UID=0/);
    expect(() => resolveHostUser({ ...asRoot, env: { SUDO_UID: 'x' } })).toThrow(/not a uid/);
    expect(() => resolveHostUser({ ...asRoot, env: { SUDO_UID: '4242' } })).toThrow(/SUDO_GID is not set/);
    expect(() => resolveHostUser({ ...asRoot, runAs: 'mallory' })).toThrow(/no user "mallory"/);
    expect(() => resolveHostUser({ ...asRoot, runAs: 'alice:wheel' })).toThrow(/no group "wheel"/);
    expect(refusal(() => resolveHostUser({ ...asRoot, runAs: '4242' }))).toMatch(/uid 4242 has no entry .*\| give the group too: --run-as UID:GID/);
    const alice = { env: {}, uid: 1000, gid: 1001, db };
    expect(resolveHostUser(alice)).toMatchObject({ uid: 1000, gid: 1001 });
    expect(resolveHostUser({ ...alice, runAs: 'alice' })).toMatchObject({ uid: 1000 });
    expect(() => resolveHostUser({ ...alice, runAs: 'root' })).toThrow(/server runs as uid 1000, which cannot run commands as uid 0/);
  });

  it("drops to another user through setpriv with that user's own environment; no token leaks", () => {
    const env = { PATH: '/usr/bin:/bin', HOME: '/root', SCX_MCP_TOKEN: 'secret', LANG: 'C.UTF-8', AWS_SECRET: 'x' };
    const l = hostCommandLine({ uid: 65534, gid: 65534, name: 'nobody', home: '/nonexistent', source: 't' }, "echo 'hi'", { uid: 0, gid: 0 }, env);
    expect(l.file).toMatch(/\/setpriv$/);
    expect(l.args).toEqual(['--reuid=65534', '--regid=65534', '--clear-groups', '--', '/bin/sh', '-c', "echo 'hi'"]);
    expect(l.env).toEqual({ PATH: '/usr/bin:/bin', HOME: '/tmp', USER: 'nobody', LOGNAME: 'nobody', SHELL: '/bin/sh', LANG: 'C.UTF-8' });
    expect(l.cwd).toBe('/tmp');
    expect(l.shell).toBe(`exec '${l.file}' '--reuid=65534' '--regid=65534' '--clear-groups' '--' '/bin/sh' '-c' 'echo '\\''hi'\\'''`);
    const same = hostCommandLine({ uid: 0, gid: 0, name: 'root', home: '/root', source: 't' }, 'true', { uid: 0, gid: 0 }, env);
    expect(same).toMatchObject({ file: '/bin/sh', args: ['-c', 'true'], shell: 'true' });
    expect(same.env).not.toHaveProperty('SCX_MCP_TOKEN');
    expect(same.env).toHaveProperty('AWS_SECRET');
  });
});

describe('HTTP token file', () => {
  it('a new token is random, long, and written 0600; the next start reuses it', () => {
    const a = hostToken();
    expect(a.source).toBe('new');
    expect(a.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.file).toBe(tokenPath());
    expect(a.file).toBe(join(dir, 'run', 'http-token'));
    expect(statSync(a.file).mode & 0o777).toBe(0o600);
    expect(readFileSync(a.file, 'utf8')).toBe(`${a.token}\n`);
    expect(hostToken()).toEqual({ ...a, source: 'file' });
    expect(newToken()).not.toBe(newToken());
  });

  it('a file others can read, or that holds no generated token, is not reused: a new token replaces it', () => {
    const a = hostToken();
    chmodSync(a.file, 0o644);
    expect(readPrivateToken(a.file)).toBeNull();
    const b = hostToken();
    expect(b.source).toBe('new');
    expect(b.token).not.toBe(a.token);
    expect(statSync(b.file).mode & 0o777).toBe(0o600);
    writeFileSync(b.file, 'short\n', { mode: 0o600 });
    expect(hostToken().source).toBe('new');
  });

  it('a given token is checked, written to the file, and named in the notice with the claude mcp add line', () => {
    expect(() => checkGivenToken('short')).toThrow(/at least 16 printable characters/);
    expect(() => checkGivenToken('has a space in it ok')).toThrow(/without spaces/);
    const t = hostToken('operator-chosen-token-123');
    expect(t).toMatchObject({ token: 'operator-chosen-token-123', source: 'given' });
    expect(readFileSync(t.file, 'utf8')).toBe('operator-chosen-token-123\n');
    const n = tokenNotice('http://127.0.0.1:8765/mcp', t);
    expect(n).toContain(t.file);
    expect(n).toContain('claude mcp add --transport http scx-mcp http://127.0.0.1:8765/mcp --header "Authorization: Bearer operator-chosen-token-123"');
  });
});
