import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { emulatorPanic, exitKindOf, panicSummary, parseSchedExtKmsg, schedExtLines } from '../../core/sandbox/kmsg.js';
import { parseStateOutput } from '../../core/sandbox/session.js';

const dmesg = readFileSync(join(import.meta.dirname, '../../fixtures/logs/dmesg-exits-7.3.txt'), 'utf8');

describe('sched_ext kernel messages', () => {
  it('finds every enable and every exit with its reason and message', () => {
    const { enabled, exits } = parseSchedExtKmsg(dmesg);
    expect(enabled.map((e) => e.scheduler)).toEqual(['bpf_error', 'stall', 'fifo']);
    expect(exits).toEqual([
      { scheduler: 'bpf_error', kind: 'bpf_error', reason: 'scx_bpf_error', message: 'giving up after 300 enqueues', atSeconds: 9.847618 },
      { scheduler: 'stall', kind: 'stall', reason: 'runnable task stall', message: 'rcu_preempt[15] failed to run for 30.196s', atSeconds: 41.191052 },
      { scheduler: 'fifo', kind: 'unregistered', reason: 'unregistered from user space', message: '', atSeconds: 47.182878 },
    ]);
  });

  it('maps the kernel reasons to kinds', () => {
    expect(exitKindOf('runtime error')).toBe('error');
    // RCU's stall detector can beat sched_ext's watchdog to a stalling scheduler: still a stall
    expect(exitKindOf('runtime error', 'RCU CPU stall on CPUs ()')).toBe('stall');
    expect(exitKindOf('runtime error', 'non-existent DSQ 0x2a')).toBe('error');
    expect(exitKindOf('disabled by sysrq-S')).toBe('sysrq');
    expect(exitKindOf('unregistered from BPF')).toBe('unregistered');
    expect(exitKindOf('something new')).toBe('unknown');
  });

  it('keeps only scheduling-related lines', () => {
    const lines = schedExtLines(dmesg + '\n[ 1.0] PCI: Using host bridge windows from ACPI; please report a bug').split('\n');
    expect(lines.some((l) => l.includes('PCI'))).toBe(false);
    expect(lines.some((l) => l.includes('runnable task stall'))).toBe(true);
  });
});

describe('sched_ext sysfs state', () => {
  it('parses state, ops, counters and non-zero events', () => {
    const st = parseStateOutput(
      'state=enabled\nops=fifo\nenable_seq=3\nnr_rejected=0\nswitch_all=1\nevent SCX_EV_DISPATCH_KEEP_LAST 25\nevent SCX_EV_SLICE_DENIED 0\n',
    );
    expect(st).toEqual({ state: 'enabled', ops: 'fifo', enableSeq: 3, nrRejected: 0, switchAll: true, events: { SCX_EV_DISPATCH_KEEP_LAST: 25 } });
  });
  it('says when the kernel has no sched_ext', () => {
    expect(parseStateOutput('state=absent\n').state).toBe('absent');
  });
});

describe('a guest kernel panic, summarised', () => {
  it('names the oops, where it happened, the first frames and the panic', () => {
    const console = [
      '[   41.201] BUG: kernel NULL pointer dereference, address: 0000000000000010',
      '[   41.202] #PF: supervisor read access in kernel mode',
      '[   41.203] Oops: Oops: 0000 [#1] PREEMPT SMP NOPTI',
      '[   41.204] CPU: 1 UID: 0 PID: 0 Comm: swapper/1 Not tainted 7.3.4+deb13-amd64 #1',
      '[   41.205] RIP: 0010:p9_client_cb+0x1a/0x60 [9pnet]',
      '[   41.206] Call Trace:',
      '[   41.207]  <IRQ>',
      '[   41.208]  req_done+0x8d/0xf0 [9pnet_virtio]',
      '[   41.209]  ? vring_interrupt+0x6e/0x110',
      '[   41.210]  __handle_irq_event_percpu+0x47/0x190',
      '[   41.300] Kernel panic - not syncing: Fatal exception in interrupt',
      '[   41.301] Kernel Offset: disabled',
    ].join('\n');
    const s = panicSummary(console)!;
    expect(s).toMatch(/^BUG: kernel NULL pointer dereference, address: 0000000000000010; RIP/);
    expect(s).toContain('RIP: 0010:p9_client_cb+0x1a/0x60 [9pnet]');
    expect(s).toContain('call trace: req_done+0x8d/0xf0 < vring_interrupt+0x6e/0x110 < __handle_irq_event_percpu+0x47/0x190');
    expect(s).toContain('Comm: swapper/1');
    expect(s).toMatch(/Kernel panic - not syncing: Fatal exception in interrupt$/);
  });
  it('is only the panic line when nothing precedes it, and null without a panic', () => {
    expect(panicSummary('[ 1.0] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100')).toBe(
      'Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100',
    );
    expect(panicSummary('all is well\n')).toBeNull();
  });
});

describe("a panic that is the emulator's", () => {
  // the console of the CI run that lost a bpfland trial to it (stop 28)
  const ci = [
    '[  212.101] Oops: int3: 0000 [#1] SMP NOPTI',
    '[  212.102] CPU: 0 UID: 0 PID: 385 Comm: scx_enable_help Tainted: G            E       7.3.4+deb13-amd64 #1 PREEMPT(lazy)  Debian 7.3.4-1~bpo13+1',
    '[  212.103] RIP: 0010:__schedule+0x643/0x1080',
    '[  212.104] Call Trace:',
    '[  212.105]  <TASK>',
    '[  212.106]  ? __pfx_kthread_flush_work_fn+0x10/0x10',
    '[  212.107]  schedule+0x28/0xa0',
    '[  212.108]  kthread_worker_fn+0x10f/0x260',
    '[  212.200] Kernel panic - not syncing: Fatal exception in interrupt',
  ].join('\n');
  it('an int3 oops under TCG is, under KVM it is not', () => {
    const s = panicSummary(ci);
    expect(s).toMatch(/^Oops: int3: 0000 \[#1\] SMP NOPTI; RIP: 0010:__schedule\+0x643/);
    expect(emulatorPanic(s, 'tcg')).toBe(true);
    expect(emulatorPanic(s, 'kvm')).toBe(false);
  });
  it('any other panic, or none, is not', () => {
    expect(emulatorPanic('BUG: kernel NULL pointer dereference, address: 0000000000000010; Kernel panic - not syncing: Fatal exception', 'tcg')).toBe(false);
    expect(emulatorPanic('Oops: general protection fault; Kernel panic - not syncing: Fatal exception', 'tcg')).toBe(false);
    expect(emulatorPanic(null, 'tcg')).toBe(false);
  });
});
