/**
 * KVM when it really works, TCG (software emulation) otherwise.
 *
 * /dev/kvm existing is not enough: on nested or restricted hosts it is present
 * but a KVM guest aborts at once or hangs (seen on this project's machines).
 * So the probe boots the real kernel under KVM with no initramfs: it panics at
 * "no root", panic=-1 reboots, -no-reboot ends QEMU. Under working KVM that is
 * a second or two; anything else (abort, hang past the deadline) means TCG.
 * The answer is cached per host boot.
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { cacheDir } from '../paths.js';
import { qemuBinary } from './qemu.js';

export type Accelerator = 'kvm' | 'tcg';

export interface AccelChoice {
  accel: Accelerator;
  reason: string;
}

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

export function kvmPrecheck(): string | null {
  if (!existsSync('/dev/kvm')) return '/dev/kvm does not exist';
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return '/dev/kvm is not readable and writable by this user';
  }
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  if (!/^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo)) return 'the CPU shows no vmx/svm flag (no hardware virtualisation here)';
  return null;
}

export async function chooseAccelerator(vmlinuz: string): Promise<AccelChoice> {
  const forced = process.env.SCX_MCP_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') return { accel: forced, reason: `forced by SCX_MCP_ACCEL=${forced}` };

  const pre = kvmPrecheck();
  if (pre) return { accel: 'tcg', reason: pre };

  const cacheFile = join(cacheDir(), 'accel-probe.json');
  try {
    const c = JSON.parse(await readFile(cacheFile, 'utf8')) as { bootId: string } & AccelChoice;
    if (c.bootId === bootId()) return { accel: c.accel, reason: c.reason + ' (cached for this host boot)' };
  } catch {
    /* no cache */
  }
  const t0 = performance.now();
  const r = await execa(
    await qemuBinary(),
    [
      '-accel',
      'kvm',
      '-cpu',
      'host',
      '-m',
      '256',
      '-nodefaults',
      '-no-user-config',
      '-display',
      'none',
      '-no-reboot',
      '-serial',
      'none',
      '-kernel',
      vmlinuz,
      '-append',
      'panic=-1 console=ttyS0 quiet',
    ],
    { reject: false, timeout: 15_000, stdin: 'ignore' },
  );
  const ms = Math.round(performance.now() - t0);
  const choice: AccelChoice =
    r.exitCode === 0 && !r.timedOut
      ? { accel: 'kvm', reason: `KVM probe boot finished in ${ms} ms` }
      : {
          accel: 'tcg',
          reason: r.timedOut
            ? 'KVM probe boot hung (no answer in 15 s)'
            : `KVM probe failed (status ${r.exitCode}): ${r.stderr.trim().split('\n').pop() ?? ''}`,
        };
  await mkdir(cacheDir(), { recursive: true });
  await writeFile(cacheFile, JSON.stringify({ bootId: bootId(), ...choice }) + '\n');
  return choice;
}
