import type { History } from './history.ts';

/** Options of {@link plotSvg}. */
export interface PlotOptions {
  /** Heading above the plot. Default 'Training'. */
  title?: string;
  /** Total epochs of the run: the x axis spans [0, epochs] so the curves grow into a fixed frame. */
  epochs?: number;
  /** Pixel size. Default 720 × 440. */
  width?: number;
  height?: number;
}

// d2l's Animator draws with matplotlib's defaults: '-' (C0 blue), 'm--', 'g-.'.
const SERIES = [
  { key: 'trainLoss', label: 'train loss', color: '#1f77b4', dash: '' },
  { key: 'trainAcc', label: 'train acc', color: '#bf00bf', dash: '7 4' },
  { key: 'testAcc', label: 'test acc', color: '#008000', dash: '9 3 2 3' },
] as const;

/** Round ticks (1, 2, 5 × 10^k apart), about `count` of them, from below `lo` to above `hi`. */
export function niceTicks(lo: number, hi: number, count = 6): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  return Array.from({ length: last - first + 1 }, (_, i) => Number(((first + i) * step).toPrecision(12)));
}

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const num = (v: number) => Number(v.toFixed(2)).toString();

/**
 * d2l's Animator picture as a standalone SVG: train loss, train accuracy and test accuracy against epochs,
 * with axes, ticks, gridlines, a legend and a title. Plain text, no DOM, same input → same bytes.
 */
export function plotSvg(history: History, options: PlotOptions = {}): string {
  const width = options.width ?? 720;
  const height = options.height ?? 440;
  const title = options.title ?? 'Training';
  const m = { left: 56, right: 150, top: 58, bottom: 50 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const pts = history.points;
  const lastEpoch = pts.reduce((a, p) => Math.max(a, p.epoch), 0);
  const xMax = Math.max(options.epochs ?? 0, Math.ceil(lastEpoch), 1);
  const values = pts.flatMap((p) => [p.trainLoss, p.trainAcc, p.testAcc]).filter(Number.isFinite) as number[];
  const yMaxData = Math.max(1, ...values);
  const yTicks = niceTicks(0, yMaxData, 5);
  const yMax = yTicks[yTicks.length - 1]!;
  const xTicks = niceTicks(0, xMax, Math.min(10, xMax)).filter((t) => t <= xMax);
  const sx = (x: number) => m.left + (x / xMax) * pw;
  const sy = (y: number) => m.top + ph - (y / yMax) * ph;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
      `font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${m.left}" y="24" font-size="16" font-weight="bold" fill="#222">${esc(title)}</text>`,
  );
  const last = history.epochs[history.epochs.length - 1];
  if (last !== undefined) {
    out.push(
      `<text x="${m.left}" y="43" fill="#555">epoch ${last.epoch}: loss ${last.loss.toFixed(3)}, ` +
        `train acc ${last.trainAcc.toFixed(3)}, test acc ${last.testAcc.toFixed(3)}</text>`,
    );
  }
  out.push('<g stroke="#e3e3e3" stroke-width="1">');
  for (const t of yTicks)
    out.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${num(sy(t))}" y2="${num(sy(t))}"/>`);
  for (const t of xTicks)
    out.push(`<line x1="${num(sx(t))}" x2="${num(sx(t))}" y1="${m.top}" y2="${m.top + ph}"/>`);
  out.push('</g>');
  out.push(
    `<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#444" stroke-width="1"/>`,
    '<g fill="#333" text-anchor="end">',
  );
  for (const t of yTicks) {
    out.push(
      `<line x1="${m.left - 5}" x2="${m.left}" y1="${num(sy(t))}" y2="${num(sy(t))}" stroke="#444"/>`,
      `<text x="${m.left - 8}" y="${num(sy(t) + 4)}">${t}</text>`,
    );
  }
  out.push('</g><g fill="#333" text-anchor="middle">');
  for (const t of xTicks) {
    out.push(
      `<line x1="${num(sx(t))}" x2="${num(sx(t))}" y1="${m.top + ph}" y2="${m.top + ph + 5}" stroke="#444"/>`,
      `<text x="${num(sx(t))}" y="${m.top + ph + 19}">${t}</text>`,
    );
  }
  out.push(`<text x="${m.left + pw / 2}" y="${height - 12}" fill="#222">epoch</text></g>`);
  out.push(`<g fill="none" stroke-width="2" stroke-linejoin="round">`);
  for (const s of SERIES) {
    const xy = pts
      .filter((p) => Number.isFinite(p[s.key]))
      .map((p) => `${num(sx(p.epoch))},${num(sy(p[s.key] as number))}`);
    if (xy.length === 0) continue;
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
    out.push(`<polyline points="${xy.join(' ')}" stroke="${s.color}"${dash}/>`);
    if (s.key === 'testAcc') {
      for (const p of xy) {
        const [cx, cy] = p.split(',');
        out.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${s.color}" stroke="none"/>`);
      }
    }
  }
  out.push('</g>');
  const lx = m.left + pw + 16;
  out.push(`<g font-size="12" fill="#222">`);
  SERIES.forEach((s, i) => {
    const y = m.top + 10 + i * 22;
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
    out.push(
      `<line x1="${lx}" x2="${lx + 30}" y1="${y}" y2="${y}" stroke="${s.color}" stroke-width="2"${dash}/>`,
      `<text x="${lx + 38}" y="${y + 4}">${s.label}</text>`,
    );
  });
  out.push('</g></svg>');
  return out.join('\n') + '\n';
}
