#!/bin/sh
# Mosquitto for compose.scale.yaml: on first start, make the dynamic-security file and give the
# control plane its service identity (setup-dynsec.sh); then run the broker in the foreground.
set -eu
data=/mosquitto/data
conf=/edgeloop/mosquitto.compose.conf
if [ ! -f "$data/dynamic-security.json" ]; then
  mosquitto_ctrl dynsec init "$data/dynamic-security.json" admin "$MOSQUITTO_ADMIN_PASSWORD"
  chown -R mosquitto:mosquitto "$data"
  mosquitto -c "$conf" &
  broker=$!
  until mosquitto_ctrl -u admin -P "$MOSQUITTO_ADMIN_PASSWORD" dynsec listClients >/dev/null 2>&1; do sleep 0.5; done
  sh /edgeloop/setup-dynsec.sh
  kill "$broker"
  wait "$broker" || true
fi
exec mosquitto -c "$conf"
