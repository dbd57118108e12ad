/**
 * reliability.svg: the reliability diagram of a model folder, before and after temperature
 * scaling side by side (and, once quantized, the int8 model devices run). Each bar is one
 * confidence bin: its height is the bin's accuracy, the diagonal is perfect calibration, and a bar
 * below the diagonal means the model claimed more than it delivered. Plain SVG like the other charts (charts.ts).
 */
import type { ReliabilityBin } from '../evaluate/calibration.ts';

const f = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '0');

function panel(x0: number, title: string, bins: ReliabilityBin[]): string {
  const size = 260;
  const left = x0 + 50;
  const top = 40;
  const px = (v: number) => left + v * size;
  const py = (v: number) => top + size - v * size;
  const parts = [
    `<text x="${left}" y="24" font-size="14" font-weight="bold">${title}</text>`,
    `<rect x="${left}" y="${top}" width="${size}" height="${size}" fill="none" stroke="#999"/>`,
    `<line x1="${px(0)}" y1="${py(0)}" x2="${px(1)}" y2="${py(1)}" stroke="#888" stroke-dasharray="4,3"/>`,
  ];
  for (let t = 0; t <= 4; t++) {
    const v = t / 4;
    parts.push(
      `<text x="${left - 6}" y="${f(py(v) + 4)}" font-size="10" text-anchor="end">${v.toFixed(2)}</text>`,
      `<text x="${f(px(v))}" y="${top + size + 14}" font-size="10" text-anchor="middle">${v.toFixed(2)}</text>`,
    );
  }
  for (const b of bins) {
    if (b.count === 0) continue;
    const w = (b.hi - b.lo) * size;
    parts.push(
      `<rect x="${f(px(b.lo) + 1)}" y="${f(py(b.accuracy))}" width="${f(w - 2)}" height="${f(b.accuracy * size)}" fill="#1f77b4" fill-opacity="0.75"><title>${b.count} frames, confidence ${b.confidence.toFixed(3)}, accuracy ${b.accuracy.toFixed(3)}</title></rect>`,
      `<circle cx="${f(px(b.confidence))}" cy="${f(py(b.confidence))}" r="2.5" fill="#d62728"/>`,
    );
  }
  parts.push(
    `<text x="${left + size / 2}" y="${top + size + 30}" font-size="11" text-anchor="middle">top-1 confidence</text>`,
    `<text x="${x0 + 14}" y="${top + size / 2}" font-size="11" transform="rotate(-90 ${x0 + 14} ${top + size / 2})" text-anchor="middle">accuracy</text>`,
  );
  return parts.join('\n');
}

export interface ReliabilityPanel {
  title: string;
  bins: ReliabilityBin[];
}

/** The panels side by side, 340 px each. */
export function reliabilitySvg(panels: readonly ReliabilityPanel[]): string {
  const body = panels.map((p, i) => panel(i * 340, p.title, p.bins)).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${panels.length * 340}" height="350" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${body}\n</svg>\n`;
}

/** Panel titles: before calibration, after (with T), and optionally the int8 model devices run. */
export const reliabilityTitles = {
  before: (ece: number) => `Before calibration (ECE ${ece.toFixed(3)})`,
  after: (temperature: number, ece: number) => `After, T = ${temperature.toFixed(2)} (ECE ${ece.toFixed(3)})`,
  int8: (ece: number) => `int8 model.onnx (ECE ${ece.toFixed(3)})`,
};
