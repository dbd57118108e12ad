/**
 * Cuts whole JPEG images out of an MJPEG byte stream (ffmpeg `-f mjpeg`, rpicam-vid `--codec mjpeg`,
 * GStreamer `jpegenc ! fdsink`, or the body of an HTTP multipart stream). Chunks arrive split
 * anywhere, so the framer keeps state between pushes and never rescans bytes it has parsed.
 *
 * Rather than searching for the first FF D9 after FF D8 (fooled by an EXIF thumbnail, which is a
 * whole JPEG inside APP1), it walks the marker segments (ITU T.81 §B.1.1.4): a length-prefixed
 * segment is skipped by its length; after SOS the entropy-coded data is scanned for a marker, where
 * FF 00 is a stuffed byte and FF D0..D7 are restart markers (§B.1.1.5, §F.1.2.3). Anything that
 * breaks this grammar is garbage and the framer resynchronises on the next SOI. A frame longer
 * than `maxFrameBytes` is discarded, so a stream without EOI cannot grow memory without bound.
 */

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const NEXT_SOI = Buffer.from([0xff, SOI]);

export interface MjpegFramerStats {
  frames: number;
  /** Bytes thrown away: before an SOI, or inside a malformed or oversized frame. */
  garbageBytes: number;
  oversized: number;
}

type State = 'seek-soi' | 'segments' | 'entropy';

export class MjpegFramer {
  private buf: Buffer = Buffer.alloc(0);
  /** Parse position inside `buf`; `buf[0]` is the frame's SOI when state is not 'seek-soi'. */
  private pos = 0;
  private state: State = 'seek-soi';
  private readonly counters: MjpegFramerStats = { frames: 0, garbageBytes: 0, oversized: 0 };

  constructor(private readonly maxFrameBytes = 8 * 1024 * 1024) {}

  stats(): MjpegFramerStats {
    return { ...this.counters };
  }

  /** Adds bytes; returns the frames they completed, oldest first. Each frame is its own copy. */
  push(chunk: Uint8Array): Buffer[] {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    const frames: Buffer[] = [];
    for (;;) {
      const frame = this.step();
      if (frame === 'more') break;
      if (frame) frames.push(frame);
    }
    if (this.state !== 'seek-soi' && this.buf.length > this.maxFrameBytes) {
      this.counters.oversized++;
      this.resync(1);
    }
    return frames;
  }

  /** Advances the parser; a frame when one completed, null when it resynchronised, 'more' for input. */
  private step(): Buffer | null | 'more' {
    const buf = this.buf;
    if (this.state === 'seek-soi') {
      let i = buf.indexOf(0xff, this.pos);
      while (i !== -1 && i + 1 < buf.length && buf[i + 1] !== SOI) i = buf.indexOf(0xff, i + 1);
      if (i === -1 || i + 1 >= buf.length) {
        // Keep a trailing FF: it may be the first half of the next SOI.
        const keep = i === -1 ? 0 : 1;
        this.counters.garbageBytes += buf.length - keep;
        this.buf = buf.subarray(buf.length - keep);
        this.pos = 0;
        return 'more';
      }
      this.counters.garbageBytes += i;
      this.buf = buf.subarray(i);
      this.pos = 2;
      this.state = 'segments';
      return null;
    }
    if (this.state === 'segments') {
      if (this.pos + 1 >= buf.length) return 'more';
      if (buf[this.pos] !== 0xff) return this.resync(1);
      const marker = buf[this.pos + 1];
      if (marker === 0xff) {
        this.pos++; // fill byte before a marker (§B.1.1.2)
        return null;
      }
      if (marker === EOI) return this.emit(this.pos + 2);
      if (marker === SOI || marker === 0x00 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
        return this.resync(marker === SOI ? this.pos : 1);
      }
      if (this.pos + 3 >= buf.length) return 'more';
      const length = buf.readUInt16BE(this.pos + 2);
      if (length < 2) return this.resync(1);
      if (this.pos + 2 + length > buf.length) return 'more';
      // Only APPn and COM may carry a whole JPEG (a thumbnail). A new SOI inside a table segment
      // means this frame was cut short in its header: restart from that SOI.
      if (!((marker >= 0xe0 && marker <= 0xef) || marker === 0xfe)) {
        const soi = buf.subarray(this.pos + 4, this.pos + 2 + length).indexOf(NEXT_SOI);
        if (soi !== -1) return this.resync(this.pos + 4 + soi);
      }
      this.pos += 2 + length;
      if (marker === SOS) this.state = 'entropy';
      return null;
    }
    // Entropy-coded data: find the next FF that is not a stuffed 00 or a restart marker.
    for (let i = buf.indexOf(0xff, this.pos); i !== -1; i = buf.indexOf(0xff, i + 1)) {
      if (i + 1 >= buf.length) {
        this.pos = i;
        return 'more';
      }
      const next = buf[i + 1];
      if (next === 0x00 || next === 0xff || (next >= 0xd0 && next <= 0xd7)) continue;
      // A real marker: EOI ends the frame; anything else (DHT/SOS of a progressive scan) is a segment.
      this.pos = i;
      this.state = 'segments';
      return null;
    }
    this.pos = buf.length;
    return 'more';
  }

  private emit(end: number): Buffer {
    const frame = Buffer.from(this.buf.subarray(0, end));
    this.buf = this.buf.subarray(end);
    this.pos = 0;
    this.state = 'seek-soi';
    this.counters.frames++;
    return frame;
  }

  /** Drops the broken frame's first `skip` bytes (or up to an SOI at `skip`) and seeks the next SOI. */
  private resync(skip: number): null {
    this.counters.garbageBytes += skip;
    this.buf = this.buf.subarray(skip);
    this.pos = 0;
    this.state = 'seek-soi';
    return null;
  }
}
