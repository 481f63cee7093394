/**
 * The scx_loader D-Bus client's strict parsing of busctl --json=short replies (the lines below are
 * what busctl 252 printed against scx_loader 1.1.3 on a real system bus with polkitd), its command
 * lines, and what it makes of failures.
 */
import { describe, expect, it } from 'vitest';
import {
  busctlCommand,
  busctlFailure,
  describeLoaderScheduler,
  loaderOpsName,
  noSystemBus,
  parseBusctlReply,
  parseLoaderProperties,
  ScxLoaderClient,
  type ExecResult,
} from '../../core/scx/loader-dbus.js';

describe('busctl replies', () => {
  it('takes one reply of the expected signature, and nothing else', () => {
    expect(parseBusctlReply('{"type":"b","data":[true]}\n', 'b')).toEqual([true]);
    expect(parseBusctlReply('', '')).toEqual([]); // a method without return values prints nothing
    expect(() => parseBusctlReply('{"type":"s","data":"x"}', 'b')).toThrow(/type "s", expected "b"/);
    expect(() => parseBusctlReply('b true', 'b')).toThrow(/not JSON/);
    expect(() => parseBusctlReply('{"data":[true]}', 'b')).toThrow(/no type and data/);
    expect(() => parseBusctlReply('{"type":"b","data":[true]}\n{"type":"b","data":[true]}', 'b')).toThrow(/got 2/);
    expect(() => parseBusctlReply('', 'b')).toThrow(/got 0/);
  });

  it("reads scx_loader's CurrentScheduler, SchedulerMode and CurrentSchedulerArgs", () => {
    const running = '{"type":"s","data":"scx_bpfland"}\n{"type":"u","data":0}\n{"type":"as","data":["-s","20000"]}\n';
    expect(parseLoaderProperties(running)).toEqual({ running: true, scheduler: 'scx_bpfland', mode: 0, modeName: 'auto', args: ['-s', '20000'] });
    const byMode = '{"type":"s","data":"scx_lavd"}\n{"type":"u","data":1}\n{"type":"as","data":[]}\n';
    expect(parseLoaderProperties(byMode)).toMatchObject({ scheduler: 'scx_lavd', mode: 1, modeName: 'gaming', args: [] });
    expect(parseLoaderProperties('{"type":"s","data":"unknown"}\n{"type":"u","data":0}\n{"type":"as","data":[]}\n')).toEqual({ running: false });
  });

  it('refuses replies that are not what scx_loader sends', () => {
    expect(() => parseLoaderProperties('{"type":"s","data":"scx_bpfland"}\n{"type":"u","data":0}\n')).toThrow(/expected 3/);
    expect(() => parseLoaderProperties('{"type":"s","data":"rm -rf /"}\n{"type":"u","data":0}\n{"type":"as","data":[]}')).toThrow(/not an scx scheduler name/);
    expect(() => parseLoaderProperties('{"type":"s","data":"scx_a"}\n{"type":"u","data":-1}\n{"type":"as","data":[]}')).toThrow(/not a u32/);
    expect(() => parseLoaderProperties('{"type":"s","data":"scx_a"}\n{"type":"u","data":0}\n{"type":"as","data":[1]}')).toThrow(/not a string array/);
    expect(() => parseLoaderProperties('{"type":"s","data":"scx_a"}\n{"type":"s","data":"0"}\n{"type":"as","data":[]}')).toThrow(/expected "u"/);
  });

  it('failures: busctl missing, no system bus, a refusal', () => {
    expect(busctlFailure({ exitCode: 127, stdout: '', stderr: 'sh: busctl: not found' })).toBe('busctl is not installed');
    expect(noSystemBus('Failed to connect to bus: No such file or directory')).toBe(true);
    expect(noSystemBus('Call failed: Not allowed!')).toBe(false);
    expect(busctlFailure({ exitCode: 1, stdout: '', stderr: 'Call failed: Not allowed!\n' })).toBe('Call failed: Not allowed!');
  });

  it('names and messages', () => {
    expect(loaderOpsName('scx_bpfland')).toBe('bpfland');
    expect(describeLoaderScheduler({ scheduler: 'scx_bpfland', mode: 0, modeName: 'auto', args: ['-s', '20000'] })).toBe('scx_bpfland -s 20000');
    expect(describeLoaderScheduler({ scheduler: 'scx_lavd', mode: 1, modeName: 'gaming', args: [] })).toBe('scx_lavd (mode gaming)');
  });
});

describe('ScxLoaderClient commands', () => {
  /** records the commands and answers from a script of replies (the parsing is what is tested) */
  const recorder = (replies: Partial<ExecResult>[]) => {
    const commands: string[] = [];
    return {
      commands,
      exec: async (command: string) => {
        commands.push(command);
        return { exitCode: 0, stdout: '', stderr: '', ...replies.shift() };
      },
    };
  };

  it('quotes every argument, never auto-starts, and restores with the arguments or the mode it reported', async () => {
    expect(busctlCommand(['call', 'x', "it's"])).toBe(`'busctl' '--system' '--json=short' '--auto-start=no' '--' 'call' 'x' 'it'\\''s'`);
    const r = recorder([{}, {}]);
    const c = new ScxLoaderClient(r);
    await c.switchTo({ scheduler: 'scx_bpfland', mode: 0, modeName: 'auto', args: ['-s', '20000'] });
    await c.switchTo({ scheduler: 'scx_lavd', mode: 1, modeName: 'gaming', args: [] });
    expect(r.commands[0]).toContain(`'SwitchSchedulerWithArgs' 'sas' 'scx_bpfland' '2' '-s' '20000'`);
    expect(r.commands[1]).toContain(`'SwitchScheduler' 'su' 'scx_lavd' '1'`);
    await expect(c.switchTo({ scheduler: 'bpfland; reboot', mode: 0, modeName: 'auto', args: [] })).rejects.toThrow(/not an scx scheduler name/);
  });

  it('no bus or no busctl: not present; nobody owns the name: not present; a refusal is an error with its reason', async () => {
    expect(await new ScxLoaderClient(recorder([{ exitCode: 1, stderr: 'Failed to connect to bus: No such file or directory' }])).present()).toMatchObject({
      present: false,
      why: expect.stringMatching(/no system bus/),
    });
    expect((await new ScxLoaderClient(recorder([{ exitCode: 127 }])).present()).present).toBe(false);
    expect((await new ScxLoaderClient(recorder([{ stdout: '{"type":"b","data":[false]}' }])).present()).present).toBe(false);
    expect((await new ScxLoaderClient(recorder([{ stdout: '{"type":"b","data":[true]}' }])).present()).present).toBe(true);
    await expect(new ScxLoaderClient(recorder([{ exitCode: 1, stderr: 'Call failed: Not allowed!' }])).stop()).rejects.toThrow(
      /scx_loader refused StopScheduler: Call failed: Not allowed!/,
    );
    await expect(new ScxLoaderClient(recorder([{ stdout: '{"type":"s","data":"x"}' }])).stop()).rejects.toThrow(/reply to StopScheduler/);
  });
});
