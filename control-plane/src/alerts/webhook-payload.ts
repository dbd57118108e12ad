/**
 * What a webhook receiver gets: the body in its configured format, and the signature header.
 * Signature (Stripe's scheme): `X-Edgeloop-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
 * "<t>.<body>" keyed with the webhook's secret>`; the timestamp lets receivers refuse replays.
 */
import { createHmac } from 'node:crypto';
import { type Alert, type AlertNotification, PROTOCOL_VERSION, type WebhookConfig } from '@edgeloop/shared';

export const SIGNATURE_HEADER = 'X-Edgeloop-Signature';
export const NOTIFICATION_ID_HEADER = 'X-Edgeloop-Notification-Id';

export function notification(alert: Alert, sentAt: Date): AlertNotification {
  return {
    protocol: PROTOCOL_VERSION,
    type: 'alert',
    notificationId: `${alert.id}:${alert.status}`,
    status: alert.status,
    alert,
    sentAt: sentAt.toISOString(),
  };
}

const ICON: Record<Alert['severity'], string> = { critical: '🔴', warning: '🟠', info: '🔵' };
const COLOR: Record<Alert['severity'], string> = { critical: 'D32F2F', warning: 'F57C00', info: '1976D2' };

function headline(n: AlertNotification): string {
  const icon = n.status === 'resolved' ? '✅' : ICON[n.alert.severity];
  const state =
    n.status === 'resolved' ? 'RESOLVED' : n.alert.oneShot ? n.alert.severity.toUpperCase() : 'FIRING';
  return `${icon} [${state}] ${n.alert.summary}`;
}

/** The body for the webhook's format: our document, a Slack message, or a Teams MessageCard. */
export function renderBody(format: WebhookConfig['format'], n: AlertNotification): string {
  if (format === 'slack') {
    return JSON.stringify({
      text: `${headline(n)} (${n.alert.rule}, ${n.alert.subject.kind} ${n.alert.subject.id})`,
    });
  }
  if (format === 'teams') {
    return JSON.stringify({
      '@type': 'MessageCard',
      '@context': 'https://schema.org/extensions',
      summary: n.alert.summary,
      themeColor: n.status === 'resolved' ? '388E3C' : COLOR[n.alert.severity],
      title: headline(n),
      text: `${n.alert.rule} · ${n.alert.subject.kind} ${n.alert.subject.id} · fired ${n.alert.firedAt}`,
    });
  }
  return JSON.stringify(n);
}

export function sign(secret: string, body: string, at: Date): string {
  const t = Math.floor(at.getTime() / 1000);
  const v1 = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return `t=${t},v1=${v1}`;
}
