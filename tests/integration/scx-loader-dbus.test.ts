/**
 * Cooperating with scx_loader, for real, in the sandbox guest: a system bus (dbus-daemon with its
 * own configuration), polkitd with scx_loader's action and a rule letting root, and scx_loader
 * 1.1.x itself (built at set-up, scripts/scx-schedulers.sh), all started by
 * tests/integration/guest/scx-loader/start.sh from the host's binaries (the guest sees the host's
 * filesystem). scx_loader starts scx_bpfland through D-Bus; a deploy of one of our library
 * schedulers through the normal path asks it to stop (remembering what it ran, with its arguments),
 * and the rollback asks it to run that again. Then, with no bus, a deploy and rollback change
 * nothing of scx_loader's.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../core/paths.js';
import { buildScheduler } from '../../core/builds/build.js';
import { verifyBuild } from '../../core/builds/verify.js';
import { kernel as defaultKernel } from '../helpers.js';
import { scxAvailability, scxLoaderAvailability } from '../../core/scx/catalog.js';
import { ScxLoaderClient } from '../../core/scx/loader-dbus.js';
import { TargetManager } from '../../core/targets/manager.js';
import type { Target } from '../../core/targets/types.js';

const loader = scxLoaderAvailability();
const bpfland = scxAvailability({ name: 'scx_bpfland' });
const skip = !loader.available ? loader.reason : !bpfland.available ? bpfland.reason : null;
if (skip) console.warn(`[scx-loader-dbus] skipped: ${skip}`);

const scripts = join(repoRoot, 'tests/integration/guest/scx-loader');
const RUN = '/run/scx-loader-test';
const ARGS = ['--slice-us', '10000'];

describe.skipIf(!!skip)(`scx_loader over D-Bus in the sandbox (${skip ? `skipped: ${skip}` : `scx_loader ${loader.version}`})`, () => {
  let tm: TargetManager;
  let target: Target;
  let client: ScxLoaderClient;
  let buildId: string;
  let started = false;
  const ops = async () => (await target.state()).ops;
  const waitOps = async (re: RegExp, s: number) => {
    const t0 = Date.now();
    while (Date.now() - t0 < s * 1000 && !re.test((await ops()) ?? '')) await new Promise((r) => setTimeout(r, 1000));
    return ops();
  };

  beforeAll(async () => {
    const k = await defaultKernel();
    const source = readFileSync(join(repoRoot, 'library/rr/rr.bpf.c'), 'utf8');
    const b = await buildScheduler({ source, fileName: 'rr.bpf.c', origin: { kind: 'library', entry: 'rr', version: 1 }, kernel: k });
    expect(b.ok).toBe(true);
    const v = await verifyBuild(b.id, { kernel: k, stressSeconds: 2 });
    expect(v.verdict, v.reasons.join('; ')).toBe('pass');
    buildId = b.id;
    tm = new TargetManager();
    target = (await tm.target('sandbox', true))!;
    const session = (await tm.sandboxSession(false))!;
    // the daemons' files go where the guest may write: overlays in guest memory over the host's directories
    await session.ensureWritable(['/usr/share/polkit-1/actions', '/etc/polkit-1/rules.d', '/boot']);
    const r = await target.exec(`sh ${join(scripts, 'start.sh')} ${dirname(loader.binary)} ${RUN} ${join(session.kernel.dir, 'config')}`, {
      as: 'server',
      timeoutS: 240,
    });
    expect(r.stdout + r.stderr, 'start.sh').toMatch(/^ready$/m);
    started = true;
    client = new ScxLoaderClient(target);
  });
  afterAll(async () => {
    if (started) await target.exec(`sh ${join(scripts, 'stop.sh')} ${RUN}`, { as: 'server', timeoutS: 120 }).catch(() => undefined);
    await tm?.close();
  });

  it('scx_loader answers on the bus and refuses a caller polkit does not allow', async () => {
    expect(await client.present()).toMatchObject({ present: true });
    expect(await client.state()).toEqual({ running: false });
    const nobody = await target.exec(
      'setpriv --reuid=65534 --regid=65534 --clear-groups busctl --system --auto-start=no -- call org.scx.Loader /org/scx/Loader org.scx.Loader StopScheduler',
      { as: 'server', timeoutS: 60 },
    );
    expect(nobody.exitCode).not.toBe(0);
    expect(nobody.stderr).toMatch(/Not allowed/);
  });

  it('a deploy stops the scheduler scx_loader runs (remembered with its arguments); the rollback has scx_loader run it again', async () => {
    await client.start({ scheduler: 'scx_bpfland', mode: 0, modeName: 'auto', args: ARGS });
    expect(await waitOps(/^bpfland/, 300), 'scx_loader started scx_bpfland').toMatch(/^bpfland/);
    expect(await client.state()).toMatchObject({ running: true, scheduler: 'scx_bpfland', args: ARGS });

    const d = await tm.deploy(buildId, 'sandbox');
    expect(d.replaced).toBeNull();
    expect(d.status.schedExt).toMatchObject({ state: 'enabled', ops: 'rr' });
    expect((await target.exec('cat /sys/kernel/sched_ext/root/ops', { as: 'server', timeoutS: 30 })).stdout.trim()).toBe('rr');
    expect(d.status.scxLoader).toMatchObject({ scheduler: 'scx_bpfland', mode: 0, args: ARGS });
    expect(await client.state()).toEqual({ running: false }); // scx_loader reports it stopped

    const back = await tm.rollback('sandbox', 'previous');
    expect(back).toMatchObject({ from: { name: 'rr' }, to: null, changed: true, scxLoader: { action: 'restored', scheduler: 'scx_bpfland', args: ARGS } });
    expect(back.status.scxLoader).toBeNull();
    expect(back.status.schedExt?.ops).toMatch(/^bpfland/);
    expect(await client.state()).toMatchObject({ running: true, scheduler: 'scx_bpfland', args: ARGS });
    // the bpfland process is scx_loader's child, with the arguments it had
    const ps = await target.exec(`cat /proc/$(pgrep -x scx_bpfland | head -n1)/cmdline | tr '\\0' ' '`, { as: 'server', timeoutS: 30 });
    expect(ps.stdout.trim()).toBe(`scx_bpfland ${ARGS.join(' ')}`);
  });

  it('with no scx_loader on the bus, deploy and rollback leave it out', async () => {
    const stop = await target.exec(`sh ${join(scripts, 'stop.sh')} ${RUN}`, { as: 'server', timeoutS: 120 });
    started = false;
    expect(stop.stdout).toMatch(/state=disabled/);
    expect(await client.present()).toMatchObject({ present: false, why: expect.stringMatching(/no system bus/) });
    const d = await tm.deploy(buildId, 'sandbox');
    expect(d.status).toMatchObject({ scxLoader: null, schedExt: { state: 'enabled', ops: 'rr' } });
    const back = await tm.rollback('sandbox', 'previous');
    expect(back.scxLoader).toBeUndefined();
    expect(back.status.schedExt).toMatchObject({ state: 'disabled' });
  });
});
