/**
 * The wire protocol version. Every MQTT payload and HTTP body carries it as `protocol`; a receiver
 * rejects payloads whose major version it does not speak.
 */
export const PROTOCOL_VERSION = 1 as const;
export type ProtocolVersion = typeof PROTOCOL_VERSION;
