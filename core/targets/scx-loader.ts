/**
 * Cooperation with scx_loader (core/scx/loader-dbus.ts): on a target where it manages the
 * scheduler, a deploy asks it to stop (remembering what it ran, with its arguments or mode) and
 * a rollback to the bottom of the stack asks it to run that again. Where no scx_loader is on the
 * system bus, nothing here changes anything. The manager (manager.ts) calls these; the record on
 * the host outlives the server (<run dir>/scx-loader-displaced.json), so a later server restores it.
 */
import { existsSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { ScxError } from '../errors.js';
import { describeLoaderScheduler, loaderOpsName, ScxLoaderClient, SCHED_MODES, type LoaderScheduler } from '../scx/loader-dbus.js';
import { opsMatches } from '../scx/guest.js';
import { ensureHostRunDir, hostRunDir } from './run-dir.js';
import { DisplacedScxLoader, type Target } from './types.js';

export function toLoaderScheduler(d: DisplacedScxLoader): LoaderScheduler {
  return { scheduler: d.scheduler, mode: d.mode, modeName: SCHED_MODES[d.mode] ?? null, args: d.args };
}

async function waitFor(
  target: Target,
  done: (s: { state: string; ops: string | null }) => boolean,
  waitS: number,
): Promise<{ state: string; ops: string | null }> {
  const t0 = performance.now();
  let st = await target.state();
  while (!done(st) && performance.now() - t0 < waitS * 1000) {
    await new Promise((r) => setTimeout(r, 500));
    st = await target.state();
  }
  return st;
}

/**
 * Before a deploy onto a target where nothing of scx-mcp's runs: if scx_loader is on the bus and
 * runs a scheduler, ask it to stop and wait until sched_ext is disabled. Returns what it ran (null:
 * no scx_loader, or it ran nothing). Throws, after asking scx_loader to run it again, when the
 * scheduler does not stop within `waitS`.
 */
export async function stopScxLoader(target: Target, waitS: number): Promise<DisplacedScxLoader | null> {
  const client = new ScxLoaderClient(target);
  if (!(await client.present()).present) return null;
  const st = await client.state();
  if (!st.running) return null;
  const displaced: DisplacedScxLoader = { scheduler: st.scheduler, mode: st.mode, args: st.args, stoppedAt: new Date().toISOString() };
  await client.stop();
  const after = await waitFor(target, (s) => s.state === 'disabled', waitS);
  if (after.state !== 'disabled') {
    await client.switchTo(st).catch(() => undefined);
    throw new ScxError(
      'BAD_INPUT',
      `scx_loader was asked to stop ${describeLoaderScheduler(st)}, but sched_ext is still ${after.state} (${after.ops ?? 'no ops'}) after ${waitS} s`,
      'nothing was deployed; scx_loader was asked to run its scheduler again',
    );
  }
  return displaced;
}

/** Ask scx_loader to run `d` again (SwitchScheduler[WithArgs] with what it reported) and wait until the kernel runs it. */
export async function restoreScxLoader(target: Target, d: DisplacedScxLoader, waitS: number): Promise<void> {
  const client = new ScxLoaderClient(target);
  const p = await client.present();
  if (!p.present) throw new ScxError('BAD_INPUT', `scx_loader is no longer on the system bus (${p.why}), so ${d.scheduler} was not started again`);
  const s = toLoaderScheduler(d);
  await client.switchTo(s);
  const ops = loaderOpsName(d.scheduler);
  const after = await waitFor(target, (st) => st.state === 'enabled' && opsMatches(st.ops, ops), waitS);
  if (!(after.state === 'enabled' && opsMatches(after.ops, ops))) {
    throw new ScxError(
      'BAD_INPUT',
      `scx_loader was asked to run ${describeLoaderScheduler(s)} again, but after ${waitS} s sched_ext is ${after.state} (${after.ops ?? 'no ops'})`,
    );
  }
}

/** The host's record of a displaced scx_loader scheduler (kept across server restarts). */
export const hostDisplacedRecord = {
  file: () => join(hostRunDir(), 'scx-loader-displaced.json'),
  read(): DisplacedScxLoader | null {
    try {
      return existsSync(this.file()) ? DisplacedScxLoader.parse(JSON.parse(readFileSync(this.file(), 'utf8'))) : null;
    } catch {
      return null;
    }
  },
  write(d: DisplacedScxLoader | null): void {
    if (!d) {
      rmSync(this.file(), { force: true });
      return;
    }
    ensureHostRunDir();
    writeFileSync(`${this.file()}.tmp`, JSON.stringify(d) + '\n', { mode: 0o600 });
    renameSync(`${this.file()}.tmp`, this.file());
  },
};
