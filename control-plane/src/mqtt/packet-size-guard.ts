/**
 * A maximum MQTT packet size checked as bytes arrive, before a packet is buffered. aedes (1.x)
 * has no such limit: its parser (mqtt-packet) keeps appending bytes until a whole packet is there,
 * however big the Remaining Length says it is (up to 256 MiB, MQTT 3.1.1 §2.2.3). So every
 * connection is wrapped in a stream that reads each fixed header (§2.2) and closes the
 * connection as soon as a packet claims more than the limit; packet bodies pass through unread.
 */
import { Duplex } from 'node:stream';

/** Scans a byte stream packet by packet; returns the claimed size of the first oversized packet. */
export function createPacketScanner(maxBytes: number): (chunk: Buffer) => number | null {
  let state: 'type' | 'length' | 'body' = 'type';
  let length = 0;
  let multiplier = 1;
  let remaining = 0;
  return (chunk) => {
    let i = 0;
    while (i < chunk.length) {
      if (state === 'body') {
        const skip = Math.min(remaining, chunk.length - i);
        remaining -= skip;
        i += skip;
        if (remaining === 0) state = 'type';
        continue;
      }
      const byte = chunk[i++] as number;
      if (state === 'type') {
        state = 'length';
        length = 0;
        multiplier = 1;
        continue;
      }
      // §2.2.3: seven bits per byte, least significant first, the top bit says "more follows".
      length += (byte & 0x7f) * multiplier;
      if (length > maxBytes) return length;
      if (byte & 0x80) {
        multiplier *= 128;
        // At most four length bytes (§2.2.3); a fifth is malformed.
        if (multiplier > 128 ** 3) return Number.POSITIVE_INFINITY;
        continue;
      }
      remaining = length;
      state = remaining === 0 ? 'type' : 'body';
    }
    return null;
  };
}

/**
 * `socket` as aedes sees it, with the size check in between. `onOversize` is told the claimed size
 * of a packet that closed the connection.
 */
export function guardPacketSize(
  socket: Duplex,
  maxBytes: number,
  onOversize: (claimedBytes: number) => void,
): Duplex {
  const scan = createPacketScanner(maxBytes);
  const guarded: Duplex = new Duplex({
    allowHalfOpen: false,
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _encoding, done) {
      socket.write(chunk, done);
    },
    final(done) {
      socket.end(done);
    },
    destroy(err, done) {
      socket.destroy();
      done(err);
    },
  });
  socket.on('data', (chunk: Buffer) => {
    const oversize = scan(chunk);
    if (oversize !== null) {
      onOversize(oversize);
      guarded.destroy();
      return;
    }
    if (!guarded.push(chunk)) socket.pause();
  });
  socket.on('end', () => guarded.push(null));
  socket.on('error', (err) => guarded.destroy(err));
  socket.on('close', () => guarded.destroy());
  return guarded;
}
