import { describe, expect, it } from 'vitest';
import { attemptTwiceOnEmulatorFault, type VerifyAttempt } from '../../core/builds/verify-report.js';
import type { SandboxResult } from '../../core/sandbox/results.js';

const FAULT = 'Oops: int3: 0000 [#1] SMP NOPTI; RIP: 0010:__schedule+0x643/0x1080; Kernel panic - not syncing: Fatal exception in interrupt';

function attempt(o: { fault?: boolean; reasons?: string[] }): VerifyAttempt {
  const result = {
    ok: !o.fault,
    error: o.fault ? { code: 'VM_CRASHED', message: `QEMU exited (0): guest kernel panicked: ${FAULT}` } : null,
    ...(o.fault ? { emulatorFault: FAULT } : {}),
  } as unknown as SandboxResult;
  return { reasons: o.reasons ?? (o.fault ? [`sandbox: ${result.error!.message}`] : []), programs: [], result };
}

describe("verify_bpf and the emulator's own faults", () => {
  it('verifies once when the VM did not die of one', async () => {
    let n = 0;
    const r = await attemptTwiceOnEmulatorFault(async () => (n++, attempt({ reasons: ['verifier/load: invalid mem access'] })), {});
    expect(n).toBe(1);
    expect(r.reasons).toEqual(['verifier/load: invalid mem access']);
    expect(r.lostAttempt).toBeUndefined();
  });

  it('verifies again in a fresh VM after one, and keeps the lost attempt', async () => {
    const seq = [attempt({ fault: true }), attempt({})];
    const progress: string[] = [];
    const r = await attemptTwiceOnEmulatorFault(async () => seq.shift()!, { onProgress: (m) => progress.push(m) });
    expect(seq).toHaveLength(0);
    expect(r.reasons).toEqual([]);
    expect(r.lostAttempt).toMatch(/guest kernel panicked: Oops: int3/);
    expect(progress[0]).toMatch(/^the emulator took the VM down \(Oops: int3.*\): verifying again in a fresh VM$/);
  });

  it('fails, saying so, when the second VM dies of it too', async () => {
    const seq = [attempt({ fault: true }), attempt({ fault: true })];
    const r = await attemptTwiceOnEmulatorFault(async () => seq.shift()!, {});
    expect(r.reasons).toHaveLength(2);
    expect(r.reasons[1]).toMatch(/emulator's own fault twice .*run verify_bpf again$/);
  });
});
