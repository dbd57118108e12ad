#!/bin/sh
# Gives edgeloop's control plane its service identity on a running Mosquitto 2 with the
# dynamic-security plugin (docs/guides/external-broker.md). Run once, after
#   mosquitto_ctrl dynsec init /var/lib/mosquitto/dynamic-security.json admin
# and starting Mosquitto. Reads the passwords from the environment, not the command line:
#   MOSQUITTO_ADMIN_PASSWORD   the dynsec admin's password (from init)
#   EDGELOOP_MQTT_PASSWORD     the password the control plane will use (mqtt.external.password)
# Optional: MOSQUITTO_HOST (127.0.0.1), MOSQUITTO_PORT (1883), MOSQUITTO_ADMIN_USER (admin),
#   EDGELOOP_MQTT_USER (edgeloop-control-plane).
set -eu
: "${MOSQUITTO_ADMIN_PASSWORD:?set MOSQUITTO_ADMIN_PASSWORD}"
: "${EDGELOOP_MQTT_PASSWORD:?set EDGELOOP_MQTT_PASSWORD}"
host=${MOSQUITTO_HOST:-127.0.0.1}
port=${MOSQUITTO_PORT:-1883}
admin=${MOSQUITTO_ADMIN_USER:-admin}
user=${EDGELOOP_MQTT_USER:-edgeloop-control-plane}
role=edgeloop-control-plane

ctrl() {
  mosquitto_ctrl -h "$host" -p "$port" -u "$admin" -P "$MOSQUITTO_ADMIN_PASSWORD" dynsec "$@"
}

ctrl createRole "$role"
# Manage device clients and roles, and read the plugin's answers.
ctrl addRoleACL "$role" publishClientSend '$CONTROL/dynamic-security/v1' allow
ctrl addRoleACL "$role" subscribeLiteral '$CONTROL/dynamic-security/v1/response' allow
# The default "publishClientReceive: allow" does not reach $CONTROL topics: allow the answers.
ctrl addRoleACL "$role" publishClientReceive '$CONTROL/dynamic-security/v1/response' allow
# Publish desired state and config to every device; follow every device's messages.
ctrl addRoleACL "$role" publishClientSend 'edgeloop/#' allow
ctrl addRoleACL "$role" subscribePattern 'edgeloop/#' allow
# Replicas (cluster.enabled) split device messages through shared subscriptions, which Mosquitto
# checks against the whole filter, $share prefix included.
ctrl addRoleACL "$role" subscribePattern '$share/+/edgeloop/#' allow
ctrl createClient "$user" -p "$EDGELOOP_MQTT_PASSWORD"
ctrl addClientRole "$user" "$role"
echo "created Mosquitto user '$user' with role '$role'"
