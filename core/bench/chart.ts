/**
 * Charts and tables for benchmark results: a hand-written SVG bar chart (median bars, min–max
 * whiskers, a dashed line at the theoretical bound; one panel per metric, one bar per policy),
 * a trial chart, a markdown table helper, and the PNG of a chart (rendered by resvg, since
 * clients show PNG image content and not SVG).
 */
import { Resvg } from '@resvg/resvg-js';
import type { Better } from './workloads.js';

/** A tool result's chart stays small: at most this wide, and re-rendered narrower past PNG_MAX_BYTES. */
export const PNG_MAX_WIDTH = 900;
export const PNG_MAX_BYTES = 150_000;

/** The PNG of an SVG chart, at most PNG_MAX_WIDTH pixels wide and PNG_MAX_BYTES long (narrower when needed). */
export function chartPng(svg: string, maxWidth = PNG_MAX_WIDTH, maxBytes = PNG_MAX_BYTES): { png: Buffer; width: number; height: number } {
  const declared = Number(/<svg[^>]*\swidth="(\d+(?:\.\d+)?)"/.exec(svg)?.[1] ?? maxWidth);
  let width = Math.min(maxWidth, declared);
  for (;;) {
    const img = new Resvg(svg, {
      fitTo: { mode: 'width', value: Math.round(width) },
      background: '#ffffff',
      font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
    }).render();
    const png = img.asPng();
    if (png.length <= maxBytes || width <= 200) return { png, width: img.width, height: img.height };
    width *= 0.7;
  }
}

export interface ChartSeries {
  label: string;
  /** NaN when the policy has no counted run (drawn as "no data"). */
  median: number;
  min: number;
  max: number;
  n: number;
  /** Drawn in the baseline colour (the kernel default). */
  baseline?: boolean;
}

export interface ChartPanel {
  title: string;
  unit: string;
  better: Better;
  series: ChartSeries[];
  bound?: number | null;
  boundLabel?: string;
}

export interface BarChartOptions {
  title: string;
  subtitle?: string;
  panels: ChartPanel[];
  /** Panels per row (default: 2, or 1 when there is one panel). */
  columns?: number;
}

const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
const BASELINE = '#8c8c8c';

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** A "nice" axis maximum and step (1, 2, 2.5, 5 x 10^k) covering [0, max] in about `ticks` steps. */
export function niceScale(max: number, ticks = 5): { max: number; step: number } {
  if (!(max > 0) || !Number.isFinite(max)) return { max: 1, step: 0.2 };
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  return { max: Math.ceil(max / step - 1e-9) * step, step };
}

/** A number for an axis or label: at most 3 significant digits before the point, k/M suffixes for big values. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toFixed(a >= 1e7 ? 0 : 1)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toFixed(a >= 1e5 ? 0 : 1)}k`;
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return +v.toPrecision(2) + '';
}

const r1 = (x: number) => Math.round(x * 10) / 10;

function panelSvg(p: ChartPanel, x0: number, y0: number, w: number, h: number): string {
  const left = 56;
  const right = 12;
  const top = 34;
  const bottom = 58;
  const pw = w - left - right;
  const ph = h - top - bottom;
  const finite = p.series.flatMap((s) => [s.max, s.median]).filter(Number.isFinite);
  const top0 = Math.max(0, ...finite, p.bound && Number.isFinite(p.bound) ? p.bound : 0);
  const { max, step } = niceScale(top0 * 1.05 || 1);
  const y = (v: number) => y0 + top + ph - (v / max) * ph;
  const out: string[] = [];
  out.push(`<g class="panel">`);
  out.push(`<text x="${r1(x0 + left)}" y="${r1(y0 + 18)}" class="ptitle">${escapeXml(p.title)} (${escapeXml(p.unit)}, ${p.better} is better)</text>`);
  // grid and axis
  for (let v = 0; v <= max + step / 2; v += step) {
    const yy = r1(y(v));
    out.push(`<line x1="${r1(x0 + left)}" y1="${yy}" x2="${r1(x0 + left + pw)}" y2="${yy}" class="grid"/>`);
    out.push(`<text x="${r1(x0 + left - 6)}" y="${r1(yy + 4)}" class="tick" text-anchor="end">${formatNumber(v)}</text>`);
  }
  out.push(`<line x1="${r1(x0 + left)}" y1="${r1(y0 + top)}" x2="${r1(x0 + left)}" y2="${r1(y0 + top + ph)}" class="axis"/>`);
  const n = Math.max(1, p.series.length);
  const slot = pw / n;
  const bw = Math.min(48, slot * 0.6);
  let colour = 0;
  p.series.forEach((s, i) => {
    const cx = x0 + left + slot * (i + 0.5);
    const fill = s.baseline ? BASELINE : PALETTE[colour++ % PALETTE.length]!;
    const base = y(0);
    if (Number.isFinite(s.median) && s.n > 0) {
      const yt = y(s.median);
      out.push(
        `<rect x="${r1(cx - bw / 2)}" y="${r1(yt)}" width="${r1(bw)}" height="${r1(Math.max(0, base - yt))}" fill="${fill}"><title>${escapeXml(`${s.label}: median ${formatNumber(s.median)} ${p.unit} (min ${formatNumber(s.min)}, max ${formatNumber(s.max)}, n=${s.n})`)}</title></rect>`,
      );
      if (Number.isFinite(s.min) && Number.isFinite(s.max) && s.max > s.min) {
        const ya = r1(y(s.max));
        const yb = r1(y(s.min));
        out.push(`<line x1="${r1(cx)}" y1="${ya}" x2="${r1(cx)}" y2="${yb}" class="whisker"/>`);
        out.push(`<line x1="${r1(cx - bw / 4)}" y1="${ya}" x2="${r1(cx + bw / 4)}" y2="${ya}" class="whisker"/>`);
        out.push(`<line x1="${r1(cx - bw / 4)}" y1="${yb}" x2="${r1(cx + bw / 4)}" y2="${yb}" class="whisker"/>`);
      }
      out.push(`<text x="${r1(cx)}" y="${r1(Math.min(y(s.max), yt) - 4)}" class="val" text-anchor="middle">${formatNumber(s.median)}</text>`);
    } else {
      out.push(`<text x="${r1(cx)}" y="${r1(base - 6)}" class="val nodata" text-anchor="middle">no data</text>`);
    }
    out.push(`<text x="${r1(cx)}" y="${r1(y0 + top + ph + 16)}" class="label" text-anchor="middle">${escapeXml(s.label)}</text>`);
    out.push(`<text x="${r1(cx)}" y="${r1(y0 + top + ph + 30)}" class="tick" text-anchor="middle">n=${s.n}</text>`);
  });
  if (p.bound !== undefined && p.bound !== null && Number.isFinite(p.bound) && p.bound > 0) {
    const yb = r1(y(p.bound));
    out.push(`<line x1="${r1(x0 + left)}" y1="${yb}" x2="${r1(x0 + left + pw)}" y2="${yb}" class="bound"/>`);
    out.push(
      `<text x="${r1(x0 + left + pw - 2)}" y="${r1(yb - 4)}" class="boundlabel" text-anchor="end">${escapeXml(p.boundLabel ?? 'bound')} ${formatNumber(p.bound)}</text>`,
    );
  }
  out.push('</g>');
  return out.join('\n');
}

/** An SVG document: one panel per metric, bars = medians, whiskers = min–max, dashed line = bound. */
export function renderBarChart(o: BarChartOptions): string {
  const cols = Math.max(1, Math.min(o.columns ?? (o.panels.length > 1 ? 2 : 1), o.panels.length || 1));
  const maxSeries = Math.max(1, ...o.panels.map((p) => p.series.length));
  const pw = Math.max(420, 68 + maxSeries * 74);
  const ph = 300;
  const head = o.subtitle ? 52 : 34;
  const rows = Math.max(1, Math.ceil(o.panels.length / cols));
  const W = cols * pw;
  const H = head + rows * ph + 8;
  const body = o.panels.map((p, i) => panelSvg(p, (i % cols) * pw, head + Math.floor(i / cols) * ph, pw, ph)).join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
<style>
.title{font-size:15px;font-weight:bold;fill:#222}.subtitle{font-size:11px;fill:#555}.ptitle{font-size:12px;font-weight:bold;fill:#333}
.tick{font-size:10px;fill:#666}.label{font-size:11px;fill:#222}.val{font-size:10px;fill:#222}.nodata{fill:#a00}
.grid{stroke:#e5e5e5;stroke-width:1}.axis{stroke:#999;stroke-width:1}.whisker{stroke:#222;stroke-width:1.3}
.bound{stroke:#c0392b;stroke-width:1.3;stroke-dasharray:5,4}.boundlabel{font-size:10px;fill:#c0392b}
</style>
<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>
<text x="12" y="22" class="title">${escapeXml(o.title)}</text>
${o.subtitle ? `<text x="12" y="40" class="subtitle">${escapeXml(o.subtitle)}</text>\n` : ''}${body}
</svg>
`;
}

/** A GitHub-flavoured markdown table; `align` per column ('l' or 'r'; default: l for the first, r for the rest). */
export function markdownTable(header: string[], rows: (string | number)[][], align?: ('l' | 'r')[]): string {
  const cell = (c: string | number) => String(c).replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const al = header.map((_, i) => align?.[i] ?? (i === 0 ? 'l' : 'r'));
  const lines = [
    `| ${header.map(cell).join(' | ')} |`,
    `|${al.map((a) => (a === 'r' ? '---:' : ':---')).join('|')}|`,
    ...rows.map((r) => `| ${header.map((_, i) => cell(r[i] ?? '')).join(' | ')} |`),
  ];
  return lines.join('\n');
}

export interface TrialChartOptions {
  title: string;
  subtitle?: string;
  unit: string;
  /** One point per trial; y null = a failed trial (drawn as an x on the axis). */
  points: { x: number; y: number | null; label: string; highlight?: boolean; rung?: number }[];
  /** A horizontal reference line (e.g. the kernel default's median). */
  reference?: { value: number; label: string } | null;
}

/** An SVG scatter of a tuning run: objective per trial, rungs shaded, the defaults highlighted. */
export function renderTrialChart(o: TrialChartOptions): string {
  const W = Math.max(520, 80 + o.points.length * 26);
  const H = 340;
  const left = 62;
  const top = o.subtitle ? 60 : 40;
  const pw = W - left - 20;
  const ph = H - top - 46;
  const ys = o.points.map((p) => p.y).filter((y): y is number => y !== null && Number.isFinite(y));
  if (o.reference && Number.isFinite(o.reference.value)) ys.push(o.reference.value);
  const scale = niceScale(Math.max(1e-9, ...ys) * 1.08);
  const n = Math.max(1, o.points.length);
  const x = (i: number) => left + ((i + 0.5) / n) * pw;
  const y = (v: number) => top + ph - (v / scale.max) * ph;
  const r1 = (v: number) => Math.round(v * 10) / 10;
  const out: string[] = [];
  // rung bands
  let start = 0;
  o.points.forEach((p, i) => {
    const next = o.points[i + 1];
    if (!next || next.rung !== p.rung) {
      if ((p.rung ?? 0) % 2 === 1)
        out.push(`<rect x="${r1(left + (start / n) * pw)}" y="${top}" width="${r1(((i + 1 - start) / n) * pw)}" height="${ph}" fill="#f3f6fa"/>`);
      out.push(`<text x="${r1(left + ((start + i + 1) / 2 / n) * pw)}" y="${top - 4}" class="tick" text-anchor="middle">rung ${(p.rung ?? 0) + 1}</text>`);
      start = i + 1;
    }
  });
  for (let v = 0; v <= scale.max + 1e-9; v += scale.step) {
    out.push(`<line x1="${left}" y1="${r1(y(v))}" x2="${left + pw}" y2="${r1(y(v))}" class="grid"/>`);
    out.push(`<text x="${left - 6}" y="${r1(y(v) + 3)}" class="tick" text-anchor="end">${formatNumber(v)}</text>`);
  }
  out.push(`<line x1="${left}" y1="${top + ph}" x2="${left + pw}" y2="${top + ph}" class="axis"/>`);
  if (o.reference && Number.isFinite(o.reference.value)) {
    const yr = r1(y(o.reference.value));
    out.push(`<line x1="${left}" y1="${yr}" x2="${left + pw}" y2="${yr}" class="bound"/>`);
    out.push(
      `<text x="${left + pw - 2}" y="${yr - 4}" class="boundlabel" text-anchor="end">${escapeXml(o.reference.label)} ${formatNumber(o.reference.value)}</text>`,
    );
  }
  o.points.forEach((p, i) => {
    const cx = r1(x(i));
    if (p.y === null || !Number.isFinite(p.y)) {
      const cy = top + ph - 6;
      out.push(`<path d="M${cx - 4} ${cy - 4}L${cx + 4} ${cy + 4}M${cx - 4} ${cy + 4}L${cx + 4} ${cy - 4}" class="fail"/>`);
    } else {
      out.push(
        `<circle cx="${cx}" cy="${r1(y(p.y))}" r="${p.highlight ? 5 : 4}" class="${p.highlight ? 'def' : 'pt'}"><title>${escapeXml(`trial ${p.x} ${p.label}: ${formatNumber(p.y)} ${o.unit}`)}</title></circle>`,
      );
    }
    out.push(`<text x="${cx}" y="${top + ph + 14}" class="tick" text-anchor="middle">${p.x}</text>`);
    out.push(`<text x="${cx}" y="${top + ph + 26}" class="tick" text-anchor="middle">${escapeXml(p.label)}</text>`);
  });
  out.push(`<text x="${left + pw / 2}" y="${H - 6}" class="label" text-anchor="middle">trial (candidate below)</text>`);
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
<style>
.title{font-size:15px;font-weight:bold;fill:#222}.subtitle{font-size:11px;fill:#555}.tick{font-size:10px;fill:#666}.label{font-size:11px;fill:#222}
.grid{stroke:#e5e5e5;stroke-width:1}.axis{stroke:#999;stroke-width:1}.pt{fill:#2e86de}.def{fill:#e67e22}.fail{stroke:#c0392b;stroke-width:2}
.bound{stroke:#c0392b;stroke-width:1.3;stroke-dasharray:5,4}.boundlabel{font-size:10px;fill:#c0392b}
</style>
<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>
<text x="12" y="22" class="title">${escapeXml(o.title)}</text>
${o.subtitle ? `<text x="12" y="40" class="subtitle">${escapeXml(o.subtitle)}</text>\n` : ''}${out.join('\n')}
</svg>
`;
}
