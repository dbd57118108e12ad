// Device: the live frame (a thumbnail the agent sends every few seconds) with its prediction, the
// newest uploaded low-confidence frame, telemetry charts from the recent-predictions window,
// version history and events. A device with several cameras shows one card per camera instead of
// the single live frame: its live frame, last prediction and heartbeat figures.

import { configCard } from './config-editor.js';
import { versionCard } from './device-pin.js';
import { revokeCard } from './device-revoke.js';
import { ago, api, apiUrl, badge, fill, h, lineChart, num, pct } from './lib.js';

/** How often the open Device page asks for a newer live frame (agents send one every ~10 s). */
const LIVE_FRAME_POLL_MS = 2000;

export function devicePage(root, [deviceId]) {
  const live = h('div', { class: 'card frame', id: 'device-live' });
  const version = versionCard(deviceId, () => load());
  const access = revokeCard(deviceId, () => load());
  // Built once: re-rendering the page keeps an edit in progress.
  const config = configCard(deviceId);
  const cameraGrid = h('div', { class: 'grid', id: 'device-cameras' });
  let shownFrameId = null;
  let multiCamera = false;

  async function load() {
    const data = await api('getDeviceTelemetry', { params: { id: deviceId } });
    multiCamera = data.device.cameras.length > 1;
    render(data);
    await config.refresh(data.device).catch(() => {});
    if (multiCamera) renderCameras(data.device.cameras);
    else await loadLiveFrame();
  }

  // Several cameras: one card each, refreshed from the device record (which carries each camera's
  // live-frame info and last prediction), so one request serves every camera.
  async function loadCameras() {
    const device = await api('getDevice', { params: { id: deviceId } });
    renderCameras(device.cameras);
  }

  function renderCameras(cameras) {
    fill(
      cameraGrid,
      cameras.map((c) => {
        const x = c.health;
        const frame = c.liveFrame;
        const last = c.lastPrediction;
        return h(
          'div',
          { class: 'card frame camera', 'data-camera': c.cameraId },
          h(
            'h2',
            {},
            h('span', { class: `dot${x?.failing ? '' : ' online'}` }),
            `Camera ${c.cameraId}`,
            x?.failing ? h('span', { class: 'muted' }, ' · failing') : null,
          ),
          frame
            ? h('img', {
                src: apiUrl('getDeviceFrameJpeg', { id: deviceId }, { camera: c.cameraId, f: frame.frameId }),
                alt: `latest frame of camera ${c.cameraId}`,
                class: 'camera-live-frame',
                style: `aspect-ratio: ${frame.width} / ${frame.height}`,
              })
            : h('p', { class: 'muted' }, 'No live frame yet.'),
          last
            ? h(
                'p',
                { class: 'camera-prediction' },
                `${last.topK[0].label} — ${pct(last.topK[0].confidence)} (v${last.modelVersion}, ${ago(last.capturedAt)})`,
              )
            : h('p', { class: 'muted' }, 'No prediction yet.'),
          x
            ? h(
                'div',
                { class: 'chips' },
                h('span', { class: 'chip' }, 'fps ', h('b', {}, num(x.fps))),
                h('span', { class: 'chip' }, 'p50 ', h('b', {}, `${num(x.latencyP50Ms)} ms`)),
                h('span', { class: 'chip' }, 'restarts ', h('b', {}, x.cameraRestarts)),
              )
            : null,
          x?.lastError ? h('p', { class: 'muted camera-error' }, x.lastError) : null,
        );
      }),
    );
  }

  // Frames live in the control plane's memory, not the database, so the change stream does not
  // see them: poll a small JSON while this page is open and fetch the JPEG only when it changed.
  async function loadLiveFrame() {
    const res = await fetch(apiUrl('getDeviceFrame', { id: deviceId }), {
      credentials: 'same-origin',
    });
    if (res.status === 404) {
      shownFrameId = null;
      return fill(
        live,
        h('h2', {}, 'Live frame'),
        h('p', { class: 'muted' }, 'No live frame yet (agents send one every few seconds while online).'),
      );
    }
    if (!res.ok) return;
    const frame = await res.json();
    if (frame.frameId === shownFrameId && live.isConnected) return;
    shownFrameId = frame.frameId;
    fill(
      live,
      h('h2', {}, 'Live frame'),
      h('img', {
        src: apiUrl('getDeviceFrameJpeg', { id: deviceId }, { f: frame.frameId }),
        alt: 'latest frame classified by the device',
        id: 'device-live-frame',
        // Reserve the frame's shape before it loads, at whatever width the card gives it.
        style: `aspect-ratio: ${frame.width} / ${frame.height}`,
      }),
      h(
        'div',
        { id: 'device-live-prediction' },
        h(
          'p',
          {},
          `${frame.modelVersion === null ? 'no model' : `v${frame.modelVersion}`}, captured ${ago(frame.capturedAt)}:`,
        ),
        h(
          'ol',
          {},
          frame.topK.map((c) => h('li', {}, `${c.label} — ${pct(c.confidence)}`)),
        ),
      ),
    );
  }

  const timer = setInterval(() => {
    // The router replaces the page's content on navigation; stop polling once it is gone.
    if (!root.isConnected) return clearInterval(timer);
    // A failed poll (server restarting, network blip) is simply retried on the next tick.
    (multiCamera ? loadCameras() : loadLiveFrame()).catch(() => {});
  }, LIVE_FRAME_POLL_MS);

  function render({ device, figures, telemetry, events, latestSampleId, rollouts }) {
    const last = device.lastPrediction;
    // Version history: the device's rollouts and the installs it reported, newest first.
    const history = [
      ...rollouts.map((r) => ({
        at: r.updatedAt,
        cells: [
          h('a', { href: `#/rollouts/${encodeURIComponent(r.rolloutId)}` }, 'rollout'),
          `${r.previousVersion === null ? '–' : `v${r.previousVersion}`} → v${r.modelVersion}`,
          badge(r.state),
        ],
      })),
      ...events
        .filter((e) => e.type === 'model-installed' || e.type === 'model-install-failed')
        .map((e) => ({
          at: e.at,
          cells: ['install', e.modelVersion ? `v${e.modelVersion}` : '–', badge(e.type)],
        })),
    ].sort((a, b) => b.at.localeCompare(a.at));
    fill(
      root,
      h(
        'h1',
        {},
        h('span', { class: `dot${device.online ? ' online' : ''}` }),
        device.deviceId,
        device.name ? h('span', { class: 'muted' }, ` · ${device.name}`) : null,
      ),
      multiCamera ? cameraGrid : null,
      h(
        'div',
        { class: 'grid' },
        multiCamera ? null : live,
        h(
          'div',
          { class: 'card frame' },
          h('h2', {}, 'Newest uploaded frame'),
          latestSampleId
            ? h('img', {
                src: apiUrl('getSampleImage', { id: latestSampleId }),
                alt: 'newest frame uploaded by the device',
                id: 'device-frame',
              })
            : h('p', { class: 'muted' }, 'No frame uploaded yet (devices send low-confidence frames).'),
          last
            ? h(
                'div',
                { id: 'device-prediction' },
                h(
                  'p',
                  {},
                  `Last prediction (v${last.modelVersion}, ${num(last.latencyMs)} ms, ${ago(last.capturedAt)}):`,
                ),
                h(
                  'ol',
                  {},
                  last.topK.map((c) => h('li', {}, `${c.label} — ${pct(c.confidence)}`)),
                ),
              )
            : h('p', { class: 'muted' }, 'No prediction yet.'),
        ),
        h(
          'div',
          { class: 'card' },
          h('h2', {}, 'State'),
          h(
            'dl',
            { class: 'kv' },
            kv('Status', device.online ? 'online' : 'offline'),
            kv('Last seen', ago(device.lastSeenAt)),
            kv('Group', device.group),
            kv('Tags', device.tags.length ? device.tags.join(', ') : '–'),
            kv('Model', `${device.reportedVersion ?? '–'} (desired ${device.desiredVersion ?? '–'})`),
            kv('Run status', badge(device.status)),
            kv('Detail', device.detail ?? '–'),
            kv('Agent', device.agentVersion ?? '–'),
            kv('Hardware', device.hardware ?? '–'),
            kv('Frames processed', device.framesProcessed),
            kv('Queue depth', `${device.health?.queueDepth ?? device.samplesQueued} samples`),
            kv('FPS', num(figures.fps)),
            kv('Latency', figures.latencyMs === null ? '–' : `${num(figures.latencyMs)} ms`),
            kv('Low confidence', pct(figures.lowConfidenceRate)),
          ),
        ),
      ),
      version.update(device),
      access,
      device.health ? healthCard(device.health) : null,
      config.el,
      h(
        'div',
        { class: 'grid' },
        h(
          'div',
          { class: 'card' },
          h('h2', {}, `Confidence (last ${telemetry.length} predictions)`),
          lineChart(
            [{ name: 'top-1 confidence', color: '#2f7de1', values: telemetry.map((p) => p.confidence) }],
            {
              min: 0,
              max: 1,
            },
          ),
        ),
        h(
          'div',
          { class: 'card' },
          h('h2', {}, 'Latency (ms)'),
          lineChart([
            { name: 'inference latency', color: '#e07b2f', values: telemetry.map((p) => p.latencyMs) },
          ]),
        ),
      ),
      h(
        'div',
        { class: 'grid' },
        h(
          'div',
          { class: 'card' },
          h('h2', {}, 'Version history'),
          history.length === 0
            ? h('p', { class: 'muted' }, 'No rollouts or installs yet.')
            : table(
                ['When', 'What', 'Version', 'Result'],
                history.map((x) => [ago(x.at), ...x.cells]),
                'device-versions',
              ),
        ),
        h(
          'div',
          { class: 'card' },
          h('h2', {}, 'Events'),
          events.length === 0
            ? h('p', { class: 'muted' }, 'No events.')
            : table(
                ['When', 'Type', 'Message'],
                events.map((e) => [ago(e.at), badge(e.type), e.message]),
                'device-events',
              ),
        ),
      ),
    );
  }

  load();
  return { topics: ['fleet', 'labels'], refresh: load };
}

function healthCard(x) {
  const hours = x.uptimeS / 3600;
  return h(
    'div',
    { class: 'card', id: 'device-health' },
    h('h2', {}, 'Heartbeat'),
    h(
      'div',
      { class: 'chips' },
      h('span', { class: 'chip' }, 'fps ', h('b', {}, num(x.fps))),
      h(
        'span',
        { class: 'chip' },
        'latency p50 / p95 ',
        h('b', {}, `${num(x.latencyP50Ms)} / ${num(x.latencyP95Ms)} ms`),
      ),
      h('span', { class: 'chip' }, 'frames dropped ', h('b', {}, x.framesDropped)),
      h('span', { class: 'chip' }, 'camera restarts ', h('b', {}, x.cameraRestarts)),
      h('span', { class: 'chip' }, 'queue ', h('b', {}, x.queueDepth)),
      h('span', { class: 'chip' }, 'evicted ', h('b', {}, x.evictions)),
      h(
        'span',
        { class: 'chip' },
        'uptime ',
        h('b', {}, hours >= 1 ? `${num(hours)} h` : `${Math.round(x.uptimeS)} s`),
      ),
      x.cpuTemperatureC === null
        ? null
        : h('span', { class: 'chip' }, 'CPU ', h('b', {}, `${num(x.cpuTemperatureC)} °C`)),
    ),
  );
}

function kv(key, value) {
  return [h('dt', {}, key), h('dd', {}, value)];
}

function table(headers, rows, id) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { id },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          headers.map((x) => h('th', {}, x)),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map((r) =>
          h(
            'tr',
            {},
            r.map((c) => h('td', {}, c)),
          ),
        ),
      ),
    ),
  );
}
