/** The loader protocol's parser and schemas (core/loader/protocol.ts); the real binary's lines are checked in tests/integration/loader-protocol.test.ts. */
import { describe, expect, it } from 'vitest';
import { asMessage, firstMessage, hasLine, parseLoaderOutput, protocolIssues } from '../../core/loader/protocol.js';

// the lines of a run that attached and was ejected, as runner.rs and exit.rs write them
const run = [
  '{"type":"loaded","ops":"fifo","map":"fifo_ops","object":"/x.bpf.o","params":{"slice_us":5000},"load_ms":41,"timeout_ms":null,"stats":["enqueued"],"uei":true,"loader":{"version":"0.1.0","libbpf":"v1.7","link":"static"}}',
  '{"type":"verifier_stats","programs":[{"prog":"fifo_enqueue","insns_processed":12,"max_states_per_insn":1,"total_states":3,"peak_states":3,"mark_read":1,"verification_time_us":210,"stack_depth":16}]}',
  '{"type":"attached","ops":"fifo","map":"fifo_ops","attach_ms":3,"state":"enabled","sysfs_ops":"fifo","pid":123}',
  '{"type":"stats","t_ms":1000,"stats":{"enqueued":10}}',
  '{"type":"stats","t_ms":1500,"final":true,"stats":{"enqueued":12}}',
  '{"type":"exit","kind":"stall","kind_code":1026,"exit_code":0,"reason":"runnable task stall","message":"x","source":"uei","t_ms":1500,"loader_exit":12,"kernel_log":[]}',
].join('\n');

describe('loader protocol', () => {
  it("parses the JSON lines and the sandbox wrapper's @@RC trailer; a half-written last line is skipped", () => {
    const o = parseLoaderOutput(`${run}\n@@RC 12\n{"type":"sta`);
    expect(o.lines.map((l) => l.type)).toEqual(['loaded', 'verifier_stats', 'attached', 'stats', 'stats', 'exit']);
    expect(o).toMatchObject({ exitCode: 12, running: false });
    expect(parseLoaderOutput(`${run}\n@@RC\n`)).toMatchObject({ exitCode: null, running: true });
    expect(parseLoaderOutput(run)).toMatchObject({ exitCode: null, running: false });
    for (const l of o.lines) expect(protocolIssues(l)).toEqual([]);
  });

  it('gives typed messages, the line itself (not a copy), and says what does not match its schema', () => {
    const { lines } = parseLoaderOutput(run);
    expect(firstMessage(lines, 'exit')).toMatchObject({ kind: 'stall', loader_exit: 12 });
    expect(firstMessage(lines, 'verifier_stats')!.programs[0]!.stack_depth).toBe(16);
    expect(firstMessage(lines, 'error')).toBeNull();
    expect(hasLine(lines, 'error', 'attached')).toBe(true);
    const err = { type: 'error', stage: 'load', message: 'x', hint: null, exit_code: 4 };
    expect(asMessage(err, 'error')).toBe(err);
    const broken = { type: 'error', stage: 'load' };
    expect(asMessage(broken, 'error')).toBeNull();
    expect(protocolIssues(broken).join(' ')).toMatch(/error\.message/);
    expect(protocolIssues({ type: 'something_new', x: 1 })).toEqual([]);
  });
});
