/**
 * The one redaction helper: camera and service URLs carry passwords (`rtsp://user:pass@cam/…`,
 * `http://cam/snapshot.cgi?user=admin&pwd=…`), and any text that may quote one (a capture
 * process's error, a log line, an event, a setting shown on the dashboard) goes through
 * `redactText` before it leaves the process or reaches a reader. The logger applies it to every
 * line it writes (logger.ts), the agent to every event it sends, the control plane to every event
 * it records and every fragment it shows.
 */

export const REDACTED = '***';

// scheme://user:password@ or scheme://token@ (the userinfo ends at the last @ before the host).
// In a JSON log line a `"` inside a password is escaped as `\"`, hence the (?:\\"|…) alternatives.
const URL_USERINFO =
  /\b([a-z][a-z0-9+.-]*:\/\/)((?:\\"|[^/?#@\s"])*?)(?::((?:\\"|[^/?#\s"])*))?@(?=[^@\s]*(?:[/?#\s"]|$))/gi;
// ?password=… &pwd=… and friends in query strings, and the signature parts of a presigned S3
// URL (SigV4 X-Amz-Signature/-Credential/-Security-Token, SigV2 Signature/AWSAccessKeyId).
const SECRET_QUERY =
  /([?&](?:pass|password|passwd|pwd|token|secret|api_?key|apikey|auth|sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token|awsaccesskeyid)=)[^&#\s"]*/gi;

/** `value` with every URL password (or bare userinfo token) and secret query parameter replaced by `***`. */
export function redactText(value: string): string {
  return value
    .replace(URL_USERINFO, (_m, scheme: string, user: string, password: string | undefined) =>
      password === undefined ? `${scheme}${REDACTED}@` : `${scheme}${user}:${REDACTED}@`,
    )
    .replace(SECRET_QUERY, (_m, key: string) => `${key}${REDACTED}`);
}
