/**
 * Both listeners' TLS options, and their reload without a restart: certificate files are watched
 * (their folders, since tools like certbot replace a file by renaming over it) and, after a
 * change settles, each server gets a new secure context. Connections already open keep the
 * context they started with; new handshakes use the new one.
 */
import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import type { Logger } from '@edgeloop/shared';
import type { TlsMaterial } from './tls-material.ts';

/** A renewal writes cert and key one after the other; wait for both before reading. */
const SETTLE_MS = 200;

/**
 * Server options: the chain and key, and client certificates asked for but not required, so
 * devices with a certificate prove who they are in the handshake (mTLS) while password devices,
 * people and the CLI still connect. Whether a certificate is accepted is decided per request.
 */
export function serverTlsOptions(material: TlsMaterial): TlsOptions {
  return { ...secureContextOf(material), requestCert: true, rejectUnauthorized: false };
}

function secureContextOf(material: TlsMaterial): SecureContextOptions {
  return { cert: material.certPem, key: material.keyPem, ca: material.deviceCa.certPem };
}

export interface SecureServer {
  setSecureContext(options: SecureContextOptions): void;
}

export interface TlsReloader {
  /** The material in use now. */
  current(): TlsMaterial;
  close(): void;
}

export function watchTlsFiles(
  initial: TlsMaterial,
  servers: readonly SecureServer[],
  logger: Logger,
): TlsReloader {
  let material = initial;
  let timer: NodeJS.Timeout | null = null;
  const names = new Set(initial.watched.map((f) => basename(f)));
  const folders = [...new Set(initial.watched.map((f) => dirname(f)))];

  const reload = async () => {
    try {
      const next = await material.reload();
      // Built before applying: a key that does not match its certificate throws here, and the
      // servers keep the context that works.
      for (const server of servers) server.setSecureContext(secureContextOf(next));
      material = next;
      logger.info({ files: initial.watched }, 'tls certificate reloaded');
    } catch (err) {
      logger.error({ err }, 'tls certificate reload failed; still serving the previous one');
    }
  };

  const watchers: FSWatcher[] = folders.map((folder) =>
    watch(folder, { persistent: false }, (_event, file) => {
      if (file !== null && !names.has(file.toString())) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => void reload(), SETTLE_MS);
    }),
  );

  return {
    current: () => material,
    close() {
      if (timer) clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
