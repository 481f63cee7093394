/** verify_bpf's per-program numbers: bpftool's program list merged with the loader's verifier statistics. */
import { describe, expect, it } from 'vitest';
import { parseProgShow, withVerifierStats } from '../../core/builds/verify.js';

const progShow = JSON.stringify([
  { id: 41, type: 'struct_ops', name: 'computed_key_en', verified_insns: 12, bytes_xlated: 96, bytes_jited: 70 },
  { id: 42, type: 'struct_ops', name: 'fifo_dispatch', verified_insns: 7, bytes_xlated: 56, bytes_jited: 40 },
  { id: 7, type: 'tracing', name: 'other', verified_insns: 1 },
]);

describe('verifier statistics per program', () => {
  it('bpftool gives the struct_ops programs with their verified instructions and sizes', () => {
    const p = parseProgShow(progShow);
    expect(p.map((x) => x.name)).toEqual(['computed_key_en', 'fifo_dispatch']);
    expect(p[0]).toMatchObject({ verifiedInsns: 12, xlatedBytes: 96, jitedBytes: 70, totalStates: null });
    expect(parseProgShow('not json')).toEqual([]);
  });

  it("the loader's verifier_stats line adds states, time and stack depth, matched through bpftool's 15-character names", () => {
    const lines = [
      { type: 'loaded' },
      {
        type: 'verifier_stats',
        programs: [
          {
            prog: 'computed_key_enqueue',
            insns_processed: 12,
            max_states_per_insn: 1,
            total_states: 3,
            peak_states: 3,
            mark_read: 1,
            verification_time_us: 210,
            stack_depth: 16,
          },
        ],
      },
    ];
    const p = withVerifierStats(parseProgShow(progShow), lines);
    expect(p[0]).toEqual({
      name: 'computed_key_enqueue',
      verifiedInsns: 12,
      totalStates: 3,
      peakStates: 3,
      maxStatesPerInsn: 1,
      verificationTimeUs: 210,
      stackDepth: 16,
      xlatedBytes: 96,
      jitedBytes: 70,
    });
    // a program the loader said nothing about keeps bpftool's numbers
    expect(p[1]).toMatchObject({ name: 'fifo_dispatch', verifiedInsns: 7, totalStates: null });
    expect(withVerifierStats(parseProgShow(progShow), [])).toEqual(parseProgShow(progShow));
  });
});
