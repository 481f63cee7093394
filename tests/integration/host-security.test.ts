/**
 * A server started with --allow-host is no root shell for local users: over HTTP every request
 * needs the bearer token (loopback too), which only root can read; a host command runs as the
 * invoking user (SUDO_UID/SUDO_GID or --run-as), never as root unless the operator says so; and
 * what runs on the host is in the audit log with the MCP client's name.
 *
 * The client runs as nobody (setpriv --reuid=65534 --regid=65534 --clear-groups node …), the way
 * another local user would reach the server. Needs root (as CI runs) to start that client.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../core/paths.js';

const cli = join(repoRoot, 'dist/server/cli.js');
const root = mkdtempSync(join(tmpdir(), 'scx-hostsec-'));
chmodSync(root, 0o755);
const out = join(root, 'out'); // where the host command (as nobody) writes what it is
mkdirSync(out);
chmodSync(out, 0o777);

/** The environment the server starts with: none of the caller's sudo variables or token. */
function serverEnv(extra: Record<string, string>): Record<string, string> {
  const { SUDO_UID: _u, SUDO_GID: _g, SUDO_USER: _s, SCX_MCP_TOKEN: _t, ...env } = process.env as Record<string, string>;
  return { ...env, ...extra };
}

/** Start `scx-mcp serve --http 0 …` and wait for its address (and the token notice, with --allow-host). */
async function startServer(args: string[], env: Record<string, string>): Promise<{ proc: ChildProcess; url: string; stderr: () => string }> {
  const proc = spawn(process.execPath, [cli, 'serve', '--http', '0', ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => void (err += d.toString()));
  const t0 = Date.now();
  while (!/Streamable HTTP on (\S+)\/mcp/.test(err) || !/Bearer /.test(err)) {
    if (proc.exitCode !== null || Date.now() - t0 > 30_000) throw new Error(`server did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { proc, url: `${/Streamable HTTP on (\S+)\/mcp/.exec(err)![1]}/mcp`, stderr: () => err };
}

// A minimal MCP client over Streamable HTTP with plain fetch (so it needs nothing but node): it
// tries the token file, initializes, and optionally calls one tool and reads one resource.
const CLIENT = `
import { readFileSync } from 'node:fs';
const [url, token, tokenFile, toolJson, resource] = process.argv.slice(2);
const headers = (sid) => ({ 'content-type': 'application/json', accept: 'application/json, text/event-stream',
  ...(token ? { authorization: 'Bearer ' + token } : {}), ...(sid ? { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' } : {}) });
const messages = (text) => text.startsWith('{') ? [JSON.parse(text)] : text.split('\\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
async function rpc(body, sid) {
  const r = await fetch(url, { method: 'POST', headers: headers(sid), body: JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, sid: r.headers.get('mcp-session-id'), text };
}
const res = { uid: process.getuid(), gid: process.getgid(), groups: process.getgroups() };
try { readFileSync(tokenFile, 'utf8'); res.tokenFile = 'read'; } catch (e) { res.tokenFile = e.code; }
const init = await rpc({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'nobody-client', version: '9.9' } } });
res.init = init.status;
res.initText = init.text.slice(0, 300);
for (const p of ['/sse', '/health']) res[p] = (await fetch(url.replace(/\\/mcp$/, p), { headers: headers() }).then((r) => { const s = r.status; r.body?.cancel(); return s; }));
if (init.status === 200) {
  await rpc({ jsonrpc: '2.0', method: 'notifications/initialized' }, init.sid);
  if (toolJson) res.call = messages((await rpc({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: JSON.parse(toolJson) }, init.sid)).text).find((m) => m.id === 2);
  if (resource) res.resource = messages((await rpc({ jsonrpc: '2.0', id: 3, method: 'resources/read', params: { uri: resource } }, init.sid)).text).find((m) => m.id === 3);
}
console.log(JSON.stringify(res));
`;
const clientScript = join(root, 'client.mjs');
writeFileSync(clientScript, CLIENT);
chmodSync(clientScript, 0o644);

interface ClientResult {
  uid: number;
  gid: number;
  groups: number[];
  tokenFile: string;
  init: number;
  initText: string;
  '/sse': number;
  '/health': number;
  call?: { result?: { isError?: boolean; content: { text: string }[]; structuredContent?: { exitCode: number } } };
  resource?: { result?: { contents: { text: string }[] } };
}

/** Run the client as nobody. */
async function asNobody(url: string, token: string, tokenFile: string, tool?: object, resource?: string): Promise<ClientResult> {
  const r = await execa(
    'setpriv',
    [
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      process.execPath,
      clientScript,
      url,
      token,
      tokenFile,
      tool ? JSON.stringify(tool) : '',
      resource ?? '',
    ],
    { cwd: '/', reject: false, timeout: 120_000 },
  );
  if (r.exitCode !== 0) throw new Error(`client failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as ClientResult;
}

const whoami = `id -u > ${out}/uid; id -g > ${out}/gid; id -G > ${out}/groups; env > ${out}/env; pwd > ${out}/pwd`;
const readOut = (f: string) => readFileSync(join(out, f), 'utf8').trim();

describe.skipIf(process.getuid?.() !== 0)('--allow-host over HTTP, reached by another local user', () => {
  const runDir = join(root, 'run');
  let server: Awaited<ReturnType<typeof startServer>>;
  let token: string;
  beforeAll(async () => {
    server = await startServer(['--allow-host'], serverEnv({ SCX_MCP_RUN_DIR: runDir, SUDO_UID: '65534', SUDO_GID: '65534', SUDO_USER: 'nobody' }));
    token = /Authorization: Bearer (\S+)"/.exec(server.stderr())![1]!;
  });
  afterAll(() => {
    server?.proc.kill('SIGTERM');
  });

  it('generates a token, keeps it in a file only root can read, and prints the claude mcp add line once', () => {
    const file = join(runDir, 'http-token');
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(readFileSync(file, 'utf8').trim()).toBe(token);
    const st = statSync(file);
    expect([st.uid, st.mode & 0o777]).toEqual([0, 0o600]);
    expect(server.stderr()).toContain(`claude mcp add --transport http scx-mcp ${server.url} --header "Authorization: Bearer ${token}"`);
    expect(server.stderr().split(token).length - 1).toBe(1);
    expect(server.stderr()).toMatch(/host commands run as uid 65534 gid 65534 .*SUDO_UID/);
  });

  it('a client running as nobody without the token (or with a wrong one) is refused everything: 401', async () => {
    for (const t of ['', 'x'.repeat(43), `${token}x`]) {
      const r = await asNobody(server.url, t, join(runDir, 'http-token'), {
        name: 'profile_workload',
        arguments: { target: 'host', command: `touch ${out}/pwned` },
      });
      expect(r.uid).toBe(65534);
      expect(r.tokenFile).toBe('EACCES'); // the run directory and the file are root's
      expect([r.init, r['/sse'], r['/health']]).toEqual([401, 401, 401]);
      expect(r.initText).toMatch(/missing or wrong bearer token/);
      expect(r.call).toBeUndefined();
    }
    expect(() => statSync(join(out, 'pwned'))).toThrow();
  });

  it("with the token it is served, and a host command runs as the invoking user (SUDO_UID), not root; audited with the client's name", async () => {
    const r = await asNobody(
      server.url,
      token,
      join(runDir, 'http-token'),
      { name: 'profile_workload', arguments: { target: 'host', command: whoami, timeoutS: 60 } },
      'scx://audit',
    );
    expect(r.init).toBe(200);
    expect(r.call?.result?.isError, JSON.stringify(r.call)).toBeFalsy();
    expect(r.call!.result!.structuredContent!.exitCode).toBe(0);
    expect([readOut('uid'), readOut('gid'), readOut('groups')]).toEqual(['65534', '65534', '65534']);
    expect(statSync(join(out, 'uid')).uid).toBe(65534);
    expect(readOut('env')).not.toMatch(/SCX_MCP|SUDO_/); // none of the server's environment
    expect(readOut('env')).toMatch(/^USER=nobody$/m);
    expect(readOut('pwd')).toBe('/tmp'); // nobody's home does not exist
    const lines = readFileSync(join(runDir, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([
      expect.objectContaining({
        event: 'host_command',
        purpose: 'profile_workload',
        command: whoami,
        uid: 65534,
        gid: 65534,
        actor: { client: 'nobody-client 9.9' },
      }),
    ]);
    expect(statSync(join(runDir, 'audit.jsonl')).mode & 0o777).toBe(0o600);
    // the resource shows the same log (read in the same session, after the call)
    const res = JSON.parse(r.resource!.result!.contents[0]!.text) as { entries: unknown[]; file: string };
    expect(res.file).toBe(join(runDir, 'audit.jsonl'));
    expect(res.entries).toEqual(lines);
  });

  it("a restarted server keeps the token file's token and appends to the same audit log", async () => {
    server.proc.kill('SIGTERM');
    await new Promise((r) => server.proc.once('exit', r));
    server = await startServer(['--allow-host', '--run-as', '65534'], serverEnv({ SCX_MCP_RUN_DIR: runDir }));
    expect(server.stderr()).toContain(`Bearer ${token}"`);
    expect(server.stderr()).toMatch(/kept from an earlier start/);
    const r = await asNobody(server.url, token, join(runDir, 'http-token'), { name: 'profile_workload', arguments: { target: 'host', command: 'true' } });
    expect(r.call?.result?.structuredContent?.exitCode).toBe(0);
    const lines = readFileSync(join(runDir, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { command: string; uid: number });
    expect(lines.map((l) => [l.command, l.uid])).toEqual([
      [whoami, 65534],
      ['true', 65534],
    ]);
  });

  it('without --allow-host a server (with its token) still runs nothing on the host', async () => {
    const plain = await startServer([], serverEnv({ SCX_MCP_RUN_DIR: join(root, 'run-plain'), SCX_MCP_STATE: join(root, 'state-plain') }));
    try {
      const t = /Authorization: Bearer (\S+)"/.exec(plain.stderr())![1]!;
      const r = await asNobody(plain.url, t, join(root, 'state-plain', 'http-token'), {
        name: 'profile_workload',
        arguments: { target: 'host', command: 'true' },
      });
      expect(r.init).toBe(200);
      expect(r.call?.result?.isError).toBe(true);
      expect(r.call?.result?.content[0]?.text).toMatch(/needs the server to be started with --allow-host/);
    } finally {
      plain.proc.kill('SIGTERM');
    }
  });
});

describe.skipIf(process.getuid?.() !== 0)('whom a host command runs as, through scx-mcp call', () => {
  const call = (args: string[], env: Record<string, string> = {}) =>
    execa(process.execPath, [cli, 'call', 'profile_workload', JSON.stringify({ target: 'host', command: whoami }), '--allow-host', ...args], {
      env: serverEnv({ SCX_MCP_RUN_DIR: join(root, 'run-call'), ...env }),
      reject: false,
      timeout: 120_000,
    });

  it('root with no sudo user and no --run-as: refused with what to do, before anything runs', async () => {
    rmSync(join(out, 'uid'), { force: true });
    const r = await call([]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/refusing to run a command on the host as root/);
    expect(r.stderr).toMatch(/--run-as USER/);
    expect(() => statSync(join(out, 'uid'))).toThrow();
  });

  it('--run-as UID:GID and SUDO_UID are honoured; root only when said explicitly', async () => {
    for (const [args, env, uid] of [
      [['--run-as', '65534:65534'], {}, '65534'],
      [[], { SUDO_UID: '65534', SUDO_GID: '65534' }, '65534'],
      [['--run-as', 'root'], {}, '0'],
    ] as const) {
      rmSync(join(out, 'uid'), { force: true });
      const r = await call([...args], env);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(readOut('uid')).toBe(uid);
    }
    const lines = readFileSync(join(root, 'run-call', 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { uid: number; actor: { client: string } });
    expect(lines.map((l) => [l.uid, l.actor.client])).toEqual([
      [65534, 'scx-mcp-cli 0.1.0'],
      [65534, 'scx-mcp-cli 0.1.0'],
      [0, 'scx-mcp-cli 0.1.0'],
    ]);
  });

  it('a --run-as that names no user stops the start', async () => {
    const r = await call(['--run-as', 'no-such-user-here']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/no user "no-such-user-here" on this machine/);
  });
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe.skipIf(process.getuid?.() !== 0)('without --allow-host over HTTP: the sandbox reads the host filesystem, so a token is required too', () => {
  const state = join(root, 'state-nohost');
  let server: Awaited<ReturnType<typeof startServer>>;
  let token: string;
  beforeAll(async () => {
    server = await startServer([], serverEnv({ SCX_MCP_STATE: state }));
    token = /Authorization: Bearer (\S+)"/.exec(server.stderr())![1]!;
  });
  afterAll(() => {
    server?.proc.kill('SIGTERM');
  });

  it('keeps its generated token in its own state directory (0600) and refuses a client without it', async () => {
    const file = join(state, 'http-token');
    expect(readFileSync(file, 'utf8').trim()).toBe(token);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const refused = await asNobody(server.url, '', file);
    expect([refused.init, refused['/sse'], refused['/health']]).toEqual([401, 401, 401]);
    const served = await asNobody(server.url, token, file, { name: 'search_library', arguments: { query: 'fair', limit: 1 } });
    expect(served.init).toBe(200);
    expect(served.call?.result?.isError, JSON.stringify(served.call)).toBeFalsy();
  });
});
