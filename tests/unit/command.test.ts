import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { commandLine, writablePaths } from '../../core/command.js';

const sh = (line: string) => execFileSync('/bin/sh', ['-c', line], { encoding: 'utf8' });

describe('a workload command with cwd and env', () => {
  it('is the command itself when neither is given', () => {
    expect(commandLine({ command: 'echo hi' })).toBe('echo hi');
  });
  it('runs in cwd with the variables exported, quoting what needs it', () => {
    const line = commandLine({ command: 'pwd; echo "$A|$B"', cwd: '/usr', env: { A: "it's", B: '$(touch /tmp/pwned) `x`' } });
    expect(sh(line)).toBe("/usr\nit's|$(touch /tmp/pwned) `x`\n");
  });
  it('a command ending in a comment still closes its subshell', () => {
    expect(sh(commandLine({ command: 'echo ok # trailing', cwd: '/' }))).toBe('ok\n');
  });
  it('a cwd that does not exist fails the run (status 126), it does not run elsewhere', () => {
    expect(() => sh(commandLine({ command: 'echo ran', cwd: '/nonexistent-dir' }))).toThrow();
  });
  it('refuses NUL bytes and names that are not shell variables', () => {
    expect(() => commandLine({ command: 'a\0b' })).toThrow(/NUL/);
    expect(() => commandLine({ command: 'true', env: { 'A;rm': 'x' } })).toThrow(/not a shell name/);
  });
  it("cwd is writable in the sandbox unless it is under /tmp (the guest's own tmpfs)", () => {
    expect(writablePaths({ cwd: '/home/u/proj', writable: ['/var/cache/x', '/home/u/proj'] })).toEqual(['/home/u/proj', '/var/cache/x']);
    expect(writablePaths({ cwd: '/tmp/x' })).toEqual([]);
  });
});
