/**
 * Two hand-written SVG charts for a model folder: loss/accuracy per epoch (curves.svg) and the
 * validation confusion matrix (confusion.svg). Plain SVG 1.1, no chart library, viewable anywhere.
 */
import type { EpochMetrics } from './model-dir.ts';

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const f = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '0');

interface Series {
  name: string;
  color: string;
  values: number[];
  dashed?: boolean;
}

function panel(x0: number, title: string, series: Series[], yMax: number, epochs: number[]): string {
  const w = 360;
  const h = 220;
  const top = 40;
  const px = (i: number) =>
    x0 + 40 + (epochs.length > 1 ? (i / (epochs.length - 1)) * (w - 60) : (w - 60) / 2);
  const py = (v: number) => top + h - (Math.min(Math.max(v, 0), yMax) / (yMax || 1)) * h;
  const parts = [
    `<text x="${x0 + 40}" y="24" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<rect x="${x0 + 40}" y="${top}" width="${w - 60}" height="${h}" fill="none" stroke="#999"/>`,
  ];
  for (let t = 0; t <= 4; t++) {
    const v = (yMax * t) / 4;
    parts.push(
      `<text x="${x0 + 36}" y="${f(py(v) + 4)}" font-size="10" text-anchor="end">${v.toFixed(2)}</text>`,
      `<line x1="${x0 + 40}" x2="${x0 + w - 20}" y1="${f(py(v))}" y2="${f(py(v))}" stroke="#eee"/>`,
    );
  }
  epochs.forEach((e, i) => {
    if (epochs.length <= 12 || i % Math.ceil(epochs.length / 12) === 0)
      parts.push(`<text x="${f(px(i))}" y="${top + h + 14}" font-size="10" text-anchor="middle">${e}</text>`);
  });
  parts.push(`<text x="${x0 + w / 2}" y="${top + h + 30}" font-size="11" text-anchor="middle">epoch</text>`);
  series.forEach((s, j) => {
    const pts = s.values.map((v, i) => `${f(px(i))},${f(py(v))}`).join(' ');
    parts.push(
      `<polyline points="${pts}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5,3"' : ''}/>`,
      ...s.values.map((v, i) => `<circle cx="${f(px(i))}" cy="${f(py(v))}" r="2.5" fill="${s.color}"/>`),
      `<text x="${x0 + 50 + j * 90}" y="${top + h + 48}" font-size="11" fill="${s.color}">${esc(s.name)}</text>`,
    );
  });
  return parts.join('\n');
}

export function curvesSvg(history: EpochMetrics[]): string {
  const epochs = history.map((h) => h.epoch);
  const lossMax =
    Math.max(0.1, ...history.flatMap((h) => [h.loss, h.valLoss]).filter(Number.isFinite)) * 1.05;
  const body = [
    panel(
      0,
      'Loss',
      [
        { name: 'train', color: '#1f77b4', values: history.map((h) => h.loss) },
        { name: 'validation', color: '#d62728', values: history.map((h) => h.valLoss), dashed: true },
      ],
      lossMax,
      epochs,
    ),
    panel(
      380,
      'Accuracy',
      [
        { name: 'train', color: '#1f77b4', values: history.map((h) => h.accuracy) },
        { name: 'validation', color: '#d62728', values: history.map((h) => h.valAccuracy), dashed: true },
      ],
      1,
      epochs,
    ),
  ].join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="760" height="320" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${body}\n</svg>\n`;
}

/** Rows are true classes, columns predicted; cell shade is the row-normalised share. */
export function confusionSvg(labels: string[], confusion: number[][]): string {
  const n = labels.length;
  const cell = Math.max(18, Math.min(48, Math.floor(480 / Math.max(n, 1))));
  const left = 20 + Math.max(...labels.map((l) => l.length), 4) * 7;
  const top = 40 + Math.max(...labels.map((l) => l.length), 4) * 6;
  const parts: string[] = [
    `<text x="${left}" y="18" font-size="14" font-weight="bold">Confusion matrix (rows: true, columns: predicted)</text>`,
  ];
  confusion.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    parts.push(
      `<text x="${left - 6}" y="${top + i * cell + cell / 2 + 4}" font-size="11" text-anchor="end">${esc(labels[i])}</text>`,
    );
    row.forEach((v, j) => {
      const share = v / total;
      const x = left + j * cell;
      const y = top + i * cell;
      const shade = Math.round(255 - share * 200);
      const fill =
        i === j ? `rgb(${shade},${Math.round(255 - share * 90)},${shade})` : `rgb(255,${shade},${shade})`;
      parts.push(
        `<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${fill}" stroke="#ccc"/>`,
        `<text x="${x + cell / 2}" y="${y + cell / 2 + 4}" font-size="${cell < 28 ? 9 : 11}" text-anchor="middle">${v}</text>`,
      );
    });
  });
  labels.forEach((l, j) => {
    const x = left + j * cell + cell / 2;
    parts.push(
      `<text x="${x}" y="${top - 6}" font-size="11" transform="rotate(-60 ${x} ${top - 6})">${esc(l)}</text>`,
    );
  });
  const width = left + n * cell + 20;
  const height = top + n * cell + 20;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`;
}
