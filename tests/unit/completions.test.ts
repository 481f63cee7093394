/**
 * completion/complete through the SDK's Client: resource-template variables (library
 * entry names, targets) and the improve_workload prompt's arguments.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ScxEngines } from '../../server/engines.js';
import { connectInProcess } from '../../server/in-process.js';

describe('completion/complete', () => {
  let client: Client;
  let close: () => Promise<void>;
  let engines: ScxEngines;
  beforeAll(async () => {
    engines = new ScxEngines();
    ({ client, close } = await connectInProcess(engines));
  }, 60_000);
  afterAll(async () => close?.());

  const values = async (ref: Parameters<Client['complete']>[0]['ref'], name: string, value: string) =>
    (await client.complete({ ref, argument: { name, value } })).completion;

  it('the server says it offers completions', () => {
    expect(client.getServerCapabilities()?.completions).toBeDefined();
  });

  it('entry names in scx://library/{name}, from the library itself: prefix matches first, then the rest containing it', async () => {
    const ref = { type: 'ref/resource' as const, uri: 'scx://library/{name}' };
    const all = (await engines.library()).list().map((e) => e.name);
    const s = await values(ref, 'name', 's');
    expect(s.values).toEqual([...all.filter((n) => n.startsWith('s')), ...all.filter((n) => !n.startsWith('s') && n.includes('s'))]);
    expect(s.values).toContain('sjf');
    expect((await values(ref, 'name', 'lj')).values).toEqual(['ljf']);
    expect((await values(ref, 'name', '')).values.length).toBe(all.length);
    expect((await values(ref, 'name', 'zzz')).values).toEqual([]);
  });

  it('targets in scx://targets/{target} and scx://monitor/{target}', async () => {
    for (const uri of ['scx://targets/{target}', 'scx://monitor/{target}']) {
      expect((await values({ type: 'ref/resource', uri }, 'target', 'h')).values).toEqual(['host']);
      expect((await values({ type: 'ref/resource', uri }, 'target', '')).values).toEqual(['sandbox', 'host']);
    }
  });

  it("the improve_workload prompt's workload and goal", async () => {
    const ref = { type: 'ref/prompt' as const, name: 'improve_workload' };
    const w = await values(ref, 'workload', 'batch');
    expect(w.values.length).toBeGreaterThan(0);
    expect(w.values.every((x) => x.startsWith('batch'))).toBe(true);
    const g = await values(ref, 'goal', 'make');
    expect(g.values).toEqual([expect.stringMatching(/^makespan/)]);
    const lat = await values(ref, 'goal', 'latency');
    expect(lat.values).toEqual([expect.stringMatching(/^tail latency/)]);
  });
});
