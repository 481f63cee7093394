/**
 * The two transports of LoaderProcess (process.ts). Both run the loader detached, its stdout, stderr
 * and pid in files of a run directory, so the scheduler stays attached after the call returns:
 *  - guestTransport: a shell script in the sandbox guest over the VM's agent channel, which starts
 *    it and waits in the guest (one round trip: each is slow under emulation), the exit status in
 *    <dir>/rc and printed as the '@@RC <code>' trailer (protocol.ts parseLoaderOutput);
 *  - hostTransport: a spawn on this machine, polled from here; the process outlives the server.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ScxError } from '../errors.js';
import { LOADER_NOT_BUILT, START_OUTCOME_TYPES, startDecided, type LoaderTransport } from './process.js';
import { parseLoaderOutput, type LoaderOutput } from './protocol.js';

/** What the guest transport needs of the VM: a shell script run in the guest (core/sandbox/vm.ts SandboxVM.run). */
export interface GuestChannel {
  run(script: string, opts: { timeoutMs: number; what: string }): Promise<{ exitCode: number; stdout: string; stderr: string; guestMs: number }>;
}

const shq = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The loader in the sandbox guest, its run directory `dir` (the object is already there); `label` names the start in VM errors. */
export function guestTransport(vm: GuestChannel, dir: string, label: string): LoaderTransport {
  const read = async () =>
    parseLoaderOutput(
      (await vm.run(`cat ${dir}/out 2>/dev/null; echo '@@RC' $(cat ${dir}/rc 2>/dev/null)`, { timeoutMs: 60_000, what: 'loader output' })).stdout,
    );
  return {
    async start(bin, args, waitS) {
      const cmd = args.map(shq).join(' ');
      const r = await vm.run(
        `command -v ${bin} >/dev/null || { echo "${bin} is not on the guest's PATH: build sched-rust (npm run setup)" >&2; exit 127; }
sh -c '${bin} ${cmd.replace(/'/g, `'"'"'`)} > ${dir}/out 2> ${dir}/err & echo $! > ${dir}/pid; wait $!; echo $? > ${dir}/rc' </dev/null >/dev/null 2>&1 &
i=0; while [ $i -lt ${waitS * 10} ]; do
  grep -qE '"type": ?"(${START_OUTCOME_TYPES.join('|')})"' ${dir}/out 2>/dev/null && break
  [ -e ${dir}/rc ] && break
  sleep 0.1; i=$((i+1))
done
cat ${dir}/out; echo '@@RC' $(cat ${dir}/rc 2>/dev/null); tail -c 65536 ${dir}/err >&2`,
        { timeoutMs: (waitS + 90) * 1000, what: `${label} with ${bin}` },
      );
      if (r.exitCode === 127)
        throw new ScxError('TOOL_MISSING', r.stderr.trim(), 'run npm run setup, which builds sched-rust (the guest finds it through the host share)');
      return { output: parseLoaderOutput(r.stdout), stderr: r.stderr, guestMs: r.guestMs };
    },
    output: read,
    async stop(waitS) {
      await vm.run(
        `p=$(cat ${dir}/pid 2>/dev/null); [ -n "$p" ] && kill -TERM $p 2>/dev/null
i=0; while [ ! -e ${dir}/rc ] && [ $i -lt ${waitS * 10} ]; do sleep 0.1; i=$((i+1)); done
[ -e ${dir}/rc ] || kill -KILL $p 2>/dev/null; true`,
        { timeoutMs: waitS * 1000 + 90_000, what: 'stop scx-loader' },
      );
      return read();
    },
  };
}

/** The loader on this machine: `binDir` holds the built binaries, `runDir` gets out, err and pid (a later server finds it there). */
export function hostTransport(binDir: string, runDir: string): LoaderTransport {
  let pid: number | undefined;
  let exitCode: number | null = null;
  const read = (): LoaderOutput => {
    const text = existsSync(join(runDir, 'out')) ? readFileSync(join(runDir, 'out'), 'utf8') : '';
    return { ...parseLoaderOutput(text), running: pid !== undefined && exitCode === null, exitCode };
  };
  const signal = (sig: NodeJS.Signals) => {
    try {
      // only while it has not exited: once reaped, its pid may be another process's
      if (pid && exitCode === null) process.kill(pid, sig);
    } catch {
      /* gone meanwhile */
    }
  };
  return {
    async start(bin, args, waitS) {
      const path = join(binDir, bin);
      if (!existsSync(path)) throw new ScxError('TOOL_MISSING', `${path} is missing: ${LOADER_NOT_BUILT}`, 'run npm run setup, which builds sched-rust');
      await mkdir(runDir, { recursive: true });
      const out = openSync(join(runDir, 'out'), 'w');
      const err = openSync(join(runDir, 'err'), 'w');
      const child = spawn(path, args, { detached: true, stdio: ['ignore', out, err] });
      closeSync(out);
      closeSync(err);
      child.on('exit', (code, sig) => void (exitCode = code ?? (sig ? 128 : -1)));
      child.unref();
      pid = child.pid;
      if (pid) writeFileSync(join(runDir, 'pid'), String(pid));
      const t0 = performance.now();
      while (performance.now() - t0 < waitS * 1000 && !startDecided(read()) && exitCode === null) await sleep(100);
      await sleep(50); // the exit status, if it stopped
      const output = read();
      const stderr = existsSync(join(runDir, 'err')) ? readFileSync(join(runDir, 'err'), 'utf8').slice(-65536) : '';
      return { output, stderr, guestMs: null };
    },
    async output() {
      return read();
    },
    async stop(waitS) {
      signal('SIGTERM');
      for (let i = 0; i < waitS * 10 && pid && exitCode === null; i++) await sleep(100);
      signal('SIGKILL');
      return read();
    },
  };
}
