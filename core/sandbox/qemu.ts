/** Which QEMU runs the sandbox: one place that vm.ts (boots) and accel.ts (the KVM probe) both ask. */
import { execa } from 'execa';
import { ScxError } from '../errors.js';

/** The QEMU binary: $SCX_MCP_QEMU or qemu-system-x86_64 on PATH. */
export async function qemuBinary(): Promise<string> {
  const bin = process.env.SCX_MCP_QEMU || 'qemu-system-x86_64';
  const r = await execa(bin, ['--version'], { reject: false });
  if (r.exitCode !== 0) {
    throw new ScxError(
      'TOOL_MISSING',
      `QEMU was not found (${bin})`,
      'install qemu-system-x86 (npm run setup does), or set SCX_MCP_QEMU to the qemu-system-x86_64 binary',
    );
  }
  return bin;
}
