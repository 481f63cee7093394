/**
 * Benchmark and tuning charts as PNG image content (clients render PNG, not SVG): rendered
 * by resvg from the SVG the report draws, with its text, within a small size bound.
 */
import { describe, expect, it } from 'vitest';
import { chartPng, PNG_MAX_BYTES, renderBarChart, renderTrialChart } from '../../core/bench/chart.js';

/** Width and height from a PNG's IHDR chunk. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

const bar = renderBarChart({
  title: 'uneven batch (join, 1x39,39x1): makespan',
  subtitle: '2 vCPUs, TCG, 3 interleaved runs',
  panels: [
    {
      title: 'makespan',
      unit: 'ms',
      better: 'lower',
      bound: 820,
      boundLabel: 'lower bound',
      series: [
        { label: 'default', median: 1650, min: 1600, max: 1700, n: 3, baseline: true },
        { label: 'ljf', median: 850, min: 840, max: 870, n: 3 },
        { label: 'sjf', median: 1500, min: 1450, max: 1550, n: 3 },
      ],
    },
    {
      title: 'mean completion',
      unit: 'ms',
      better: 'lower',
      series: [
        { label: 'default', median: 1200, min: 1150, max: 1250, n: 3, baseline: true },
        { label: 'ljf', median: 900, min: 880, max: 920, n: 3 },
        { label: 'sjf', median: 420, min: 410, max: 430, n: 3 },
      ],
    },
  ],
});

describe('chart PNG', () => {
  it('renders the bar chart at its own width (within the bound), with its text', () => {
    const { png, width, height } = chartPng(bar);
    const declared = Number(/width="(\d+)"/.exec(bar)![1]);
    expect(pngSize(png)).toEqual({ width, height });
    expect(width).toBe(Math.min(900, declared));
    expect(png.length).toBeLessThanOrEqual(PNG_MAX_BYTES);
    expect(png.length).toBeGreaterThan(2_000);
    // the text is drawn (a font was found): without its <text> elements the picture differs
    const noText = chartPng(bar.replace(/<text[^>]*>[^<]*<\/text>/g, '')).png;
    expect(noText.equals(png)).toBe(false);
    expect(noText.length).toBeLessThan(png.length);
  });

  it('renders the trial chart; a tighter byte budget gives a narrower picture', () => {
    const svg = renderTrialChart({
      title: 'tuning rr on wakeup',
      unit: 'us',
      reference: { value: 900, label: 'kernel default' },
      points: Array.from({ length: 20 }, (_, i) => ({
        x: i + 1,
        y: i === 7 ? null : 500 + ((i * 37) % 300),
        label: `c${i}`,
        highlight: i === 0,
        rung: i < 12 ? 0 : 1,
      })),
    });
    const full = chartPng(svg);
    expect(pngSize(full.png).width).toBe(full.width);
    const small = chartPng(svg, 900, Math.floor(full.png.length / 2));
    expect(small.width).toBeLessThan(full.width);
    expect(small.png.length).toBeLessThanOrEqual(Math.floor(full.png.length / 2));
    expect(pngSize(small.png)).toEqual({ width: small.width, height: small.height });
  });
});
