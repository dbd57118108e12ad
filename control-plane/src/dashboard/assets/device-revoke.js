// The Device page's "Access" card: an admin revokes the device. Its secret and certificate stop
// working and its live MQTT connection closes; only a re-enrollment brings it back.
import { actionButton, api, attempt, h, session } from './lib.js';

export function revokeCard(deviceId, reload) {
  const admin = session.role === 'admin';
  const revoke = async () => {
    if (
      !window.confirm(`Revoke ${deviceId}? It is disconnected now and cannot reconnect until enrolled again.`)
    )
      return;
    const result = await attempt(
      () => api('revokeDevice', { params: { id: deviceId } }),
      `${deviceId} revoked`,
    );
    if (result) reload();
  };
  return h(
    'div',
    { class: 'card', id: 'device-access' },
    h('h2', {}, 'Access'),
    h(
      'div',
      { class: 'toolbar' },
      actionButton('Revoke device', revoke, {
        id: 'device-revoke-button',
        class: 'danger',
        disabled: !admin,
        title: admin ? 'disconnect it and refuse its secret and certificate' : 'only admins revoke devices',
      }),
    ),
    h(
      'p',
      { class: 'muted' },
      'Revoking closes its live connection and refuses its secret and certificate from then on.',
    ),
  );
}
