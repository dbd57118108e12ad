/** What `edgeloop train` prints while it trains and when it is done. */
import type { TrainMetrics, TrainProgress } from '@edgeloop/trainer';
import { formatEceDetail } from './ece-detail.ts';

export function progressPrinter(stream: NodeJS.WriteStream = process.stdout): (p: TrainProgress) => void {
  const tty = stream.isTTY === true;
  let lastLine = 0;
  return (p) => {
    if (p.phase === 'train') {
      const line = `epoch ${p.epoch}/${p.epochs} batch ${p.batch}/${p.batches} loss ${p.loss?.toFixed(4)} acc ${p.accuracy?.toFixed(3)} ${p.imagesPerSec?.toFixed(1)} img/s ETA ${Math.round(p.etaSec ?? 0)}s`;
      if (tty) stream.write(`\r${line}\x1b[K`);
      else if (p.batch === p.batches || Date.now() - lastLine > 5000) {
        lastLine = Date.now();
        stream.write(`${line}\n`);
      }
    } else if (p.phase === 'evaluate') {
      stream.write(
        `${tty ? '\r\x1b[K' : ''}epoch ${p.epoch}/${p.epochs} loss ${p.loss?.toFixed(4)} acc ${p.accuracy?.toFixed(3)} val_loss ${p.valLoss?.toFixed(4)} val_acc ${p.valAccuracy?.toFixed(3)}\n`,
      );
    } else if (p.message) {
      stream.write(`${p.message}\n`);
    }
  };
}

export function formatTrainSummary(outDir: string, metrics: TrainMetrics): string {
  const pct = (v: number | null | undefined) => (v == null ? 'n/a' : `${(v * 100).toFixed(1)}%`);
  let text = `\nwrote ${outDir}: val accuracy ${pct(metrics.valAccuracy)} (onnx ${pct(metrics.onnxValAccuracy)}, max |onnx - tfjs| ${metrics.onnxMaxAbsDiff.toExponential(1)}), test ${pct(metrics.testAccuracy)}, ${metrics.trainImages} train / ${metrics.valImages} val / ${metrics.testImages ?? 0} test images, ${metrics.imagesPerSec.toFixed(1)} img/s on ${metrics.backend}, ${metrics.totalSeconds.toFixed(0)}s\n`;
  const c = metrics.calibration;
  if (c) {
    text += `calibration on ${c.images} ${c.fittedOn} images: temperature ${c.temperature.toFixed(3)} folded into the model, ECE ${c.eceBefore.toFixed(4)} -> ${c.eceAfter.toFixed(4)}; recommended lowConfidenceThreshold ${c.lowConfidenceThreshold} (${Math.round(c.targetCaptureRate * 100)}% of frames below; per class in manifest.json)\n`;
    if (c.eceAfterDetail) text += `  ${formatEceDetail(c.eceAfterDetail, c.images)}\n`;
  }
  if (metrics.skipped.length) text += `skipped ${metrics.skipped.length} files (see metrics.json)\n`;
  if (metrics.duplicates) text += `${metrics.duplicates} duplicate images kept once\n`;
  return text;
}
