/** A unified diff applied to an entry's source, with the failed hunks quoted so the agent sees which one. */
import { ScxError } from '../errors.js';
import { applyPatch } from '../toolchain/patch.js';

/** applyPatch, with the failed hunks quoted (header and first changed line) so the agent sees which one. */
export async function applyEntryPatch(file: string, source: string, patch: string): Promise<string> {
  try {
    return await applyPatch(file, source, patch);
  } catch (e) {
    if (!(e instanceof ScxError)) throw e;
    const hunks: { header: string; first: string }[] = [];
    for (const line of patch.split('\n')) {
      if (line.startsWith('@@')) hunks.push({ header: line.replace(/^(@@[^@]*@@).*$/, '$1'), first: '' });
      else if (hunks.length && !hunks.at(-1)!.first && /^[-+]/.test(line) && !/^(---|\+\+\+) /.test(line)) hunks.at(-1)!.first = line.slice(0, 100);
    }
    const failed = [...e.message.matchAll(/Hunk #(\d+) FAILED/g)].map((m) => Number(m[1]));
    const reversed = /Reversed \(or previously applied\)/.test(e.message);
    const which = failed.length ? failed : reversed ? hunks.map((_, i) => i + 1) : [];
    const quoted = which.map((n) => `hunk #${n}${hunks[n - 1] ? ` ${hunks[n - 1]!.header} (${hunks[n - 1]!.first})` : ''}`);
    const why = reversed && !failed.length ? 'it looks already applied (or reversed)' : 'its context or removed lines do not match the current source';
    throw new ScxError('BAD_INPUT', `${e.message}${quoted.length ? `\nfailed: ${quoted.join('; ')} — ${why}` : ''}`, e.hint, { failedHunks: which });
  }
}
