/** Small summary statistics (median, min–max, mean) shared by bench, tune, the monitor and the profiler. */
export interface Summary {
  n: number;
  min: number;
  median: number;
  max: number;
  mean: number;
}

export function median(xs: number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function summarize(xs: number[]): Summary {
  if (!xs.length) return { n: 0, min: NaN, median: NaN, max: NaN, mean: NaN };
  return {
    n: xs.length,
    min: Math.min(...xs),
    median: median(xs),
    max: Math.max(...xs),
    mean: xs.reduce((a, b) => a + b, 0) / xs.length,
  };
}
