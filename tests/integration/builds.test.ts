/** Build records: content-addressed objects whose answer describes the request made now. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildsDir, repoRoot, stateDir } from '../../core/paths.js';
import { buildScheduler, getBuild } from '../../core/builds/build.js';
import { kernel } from '../helpers.js';

describe('build records (real clang)', () => {
  it('each test run has its own builds directory', () => {
    expect(process.env.SCX_MCP_STATE).toBeTruthy();
    expect(buildsDir()).toBe(join(stateDir(), 'builds'));
    expect(buildsDir().startsWith(process.env.SCX_MCP_STATE!)).toBe(true);
  });

  it('the same source built again for another origin (an entry reverted to an older text) reports the origin asked for now', async () => {
    const source = readFileSync(join(repoRoot, 'library/rr/rr.bpf.c'), 'utf8');
    const k = await kernel();
    const v1 = await buildScheduler({ source, fileName: 'rr.bpf.c', origin: { kind: 'library', entry: 'rr', version: 1 }, kernel: k });
    expect(v1.ok).toBe(true);
    const v3 = await buildScheduler({ source, fileName: 'rr.bpf.c', origin: { kind: 'library', entry: 'rr', version: 3 }, kernel: k });
    expect(v3.id).toBe(v1.id); // one object
    expect(v3.origin).toEqual({ kind: 'library', entry: 'rr', version: 3 });
    expect((await getBuild(v1.id)).origin).toEqual({ kind: 'library', entry: 'rr', version: 3 });
    expect(v3.createdAt).toBe(v1.createdAt); // not rebuilt
  });
});
