import { describe, expect, it } from 'vitest';
import { detectCompression, locatePayload, missingConfig, parseKernelConfig, scxKfuncsFromVmlinuxH, targetApiHeader } from '../../core/kernel/bzimage.js';
import { compareRelease } from '../../core/kernel/fetch.js';
import { parseClangDiagnostics } from '../../core/toolchain/compile.js';

function fakeBzImage(setupSects: number, payload: Buffer): Buffer {
  const start = ((setupSects || 4) + 1) * 512; // the boot protocol reads 0 as 4
  const img = Buffer.alloc(start + 64 + payload.length);
  img[0x1f1] = setupSects;
  img.write('HdrS', 0x202, 'latin1');
  img.writeUInt32LE(64, 0x248);
  img.writeUInt32LE(payload.length, 0x24c);
  payload.copy(img, start + 64);
  return img;
}

describe('bzImage', () => {
  it('locates a zstd payload from the boot header', () => {
    const payload = Buffer.from('28b52ffd0000deadbeef', 'hex');
    const img = fakeBzImage(39, payload);
    expect(locatePayload(img)).toEqual({ offset: 40 * 512 + 64, length: payload.length, compression: 'zstd' });
  });
  it('treats setup_sects 0 as 4', () => {
    const img = fakeBzImage(0, Buffer.from('1f8b0800', 'hex'));
    expect(locatePayload(img)).toEqual({ offset: 5 * 512 + 64, length: 4, compression: 'gzip' });
  });
  it('rejects files that are not a bzImage', () => {
    expect(() => locatePayload(Buffer.alloc(4096))).toThrow(/HdrS/);
    expect(() => locatePayload(Buffer.alloc(10))).toThrow(/only 10 bytes/);
  });
  it('recognises compressions', () => {
    expect(detectCompression(Buffer.from('fd377a585a00', 'hex'))).toBe('xz');
    expect(detectCompression(Buffer.from('00000000', 'hex'))).toBe('unknown');
  });
});

describe('kernel config and API', () => {
  it('lists what a sandbox kernel lacks', () => {
    const cfg = parseKernelConfig(
      'CONFIG_SCHED_CLASS_EXT=y\nCONFIG_DEBUG_INFO_BTF=y\n# CONFIG_BPF_SYSCALL is not set\nCONFIG_VIRTIO_CONSOLE=m\nCONFIG_DEVTMPFS=y\n',
    );
    expect(missingConfig(cfg)).toEqual(['CONFIG_BPF_SYSCALL (loading BPF programs)', 'CONFIG_VIRTIO_CONSOLE (the sandbox agent channel (virtio-serial))']);
  });
  it('extracts sched_ext kfuncs from vmlinux.h and writes the target header', () => {
    const h = [
      'extern void scx_bpf_dsq_insert(struct task_struct *p, u64 dsq_id, u64 slice, u64 enq_flags) __weak __ksym;',
      'extern bool scx_bpf_dsq_move_to_local___v2(u64 dsq_id, u64 enq_flags) __weak __ksym;',
      'extern int bpf_something_else(void) __weak __ksym;',
      'struct scx_bpf_not_a_func { int x; };',
    ].join('\n');
    const k = scxKfuncsFromVmlinuxH(h);
    expect(k).toEqual(['scx_bpf_dsq_insert', 'scx_bpf_dsq_move_to_local___v2']);
    const header = targetApiHeader('7.3.4+deb13-amd64', k);
    expect(header).toContain('#define SCX_HAS_scx_bpf_dsq_insert 1');
    expect(header).toContain('#define SCX_TARGET_KERNEL "7.3.4+deb13-amd64"');
  });
  it('orders kernel releases numerically', () => {
    const rels = ['7.2.9+deb13-amd64', '7.3.4+deb13-amd64', '7.2.12+deb13-amd64', '6.19.11+deb13-amd64'];
    expect(rels.sort((a, b) => compareRelease(b, a))).toEqual(['7.3.4+deb13-amd64', '7.2.12+deb13-amd64', '7.2.9+deb13-amd64', '6.19.11+deb13-amd64']);
  });
});

describe('clang diagnostics', () => {
  it('parses file:line:col diagnostics', () => {
    const d = parseClangDiagnostics(
      "x.bpf.c:12:5: error: use of undeclared identifier 'foo'\nx.bpf.c:3:1: warning: unused variable 'y' [-Wunused-variable]\nIn file included from a.h:1:\n",
    );
    expect(d).toEqual([
      { file: 'x.bpf.c', line: 12, column: 5, severity: 'error', message: "use of undeclared identifier 'foo'" },
      { file: 'x.bpf.c', line: 3, column: 1, severity: 'warning', message: "unused variable 'y' [-Wunused-variable]" },
    ]);
  });
});
