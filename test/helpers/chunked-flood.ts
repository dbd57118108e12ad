/**
 * Sends a chunked request body far bigger than any limit over a raw socket and reports what the
 * server did: its status line, how many body bytes it took before it answered, and whether it cut
 * the connection instead of reading the rest.
 */
import { connect } from 'node:net';

export interface ChunkedOutcome {
  status: number | null;
  /** Body bytes written when the answer arrived. */
  sentBeforeAnswer: number;
  /** Body bytes written in total (writes stop once the server closes). */
  sent: number;
  /** The server closed the connection before the whole body was sent. */
  cutEarly: boolean;
}

export function sendChunked(
  baseUrl: string,
  path: string,
  options: { headers?: Record<string, string>; totalBytes: number; chunkBytes?: number },
): Promise<ChunkedOutcome> {
  const url = new URL(baseUrl);
  const chunk = Buffer.alloc(options.chunkBytes ?? 64 * 1024, 0x61);
  const frame = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    let sent = 0;
    let sentBeforeAnswer = -1;
    let status: number | null = null;
    let head = '';
    let closed = false;
    const finish = () => {
      if (closed) return;
      closed = true;
      resolve({
        status,
        sentBeforeAnswer: sentBeforeAnswer < 0 ? sent : sentBeforeAnswer,
        sent,
        cutEarly: sent < options.totalBytes,
      });
    };
    socket.on('data', (data) => {
      if (status !== null) return;
      head += data.toString('latin1');
      const match = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (match) {
        status = Number(match[1]);
        sentBeforeAnswer = sent;
      }
    });
    socket.on('error', finish);
    socket.on('close', finish);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no outcome after sending ${sent} bytes`));
    }, 30_000);
    socket.on('close', () => clearTimeout(timer));
    socket.on('connect', () => {
      const headers = {
        host: url.host,
        'transfer-encoding': 'chunked',
        'content-type': 'application/json',
        ...options.headers,
      };
      socket.write(
        `POST ${path} HTTP/1.1\r\n${Object.entries(headers)
          .map(([k, v]) => `${k}: ${v}`)
          .join('\r\n')}\r\n\r\n`,
      );
      const pump = () => {
        while (!closed && !socket.destroyed && sent < options.totalBytes) {
          sent += chunk.length;
          if (!socket.write(frame)) {
            socket.once('drain', pump);
            return;
          }
        }
        if (sent >= options.totalBytes && !socket.destroyed) socket.end('0\r\n\r\n');
      };
      pump();
    });
  });
}
