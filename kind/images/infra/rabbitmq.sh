#!/bin/sh
# RabbitMQ for the CI cluster: user RABBITMQ_USER with RABBITMQ_PASSWORD, the Erlang cookie
# from PANTRY_ERLANG_COOKIE, and the memory alarm relative to the container's memory limit
# (RABBITMQ_MEMORY_LIMIT, in bytes, from the pod's own limits.memory): RabbitMQ would otherwise
# take the node's memory as its total and be killed by the limit before its alarm fires.
set -eu
umask 077
printf '%s' "$PANTRY_ERLANG_COOKIE" >"$HOME/.erlang.cookie"
config=/tmp/rabbitmq.conf
{
  echo "default_user = $RABBITMQ_USER"
  echo "default_pass = $RABBITMQ_PASSWORD"
  echo "loopback_users = none"
  echo "listeners.tcp.default = 5672"
  echo "total_memory_available_override_value = ${RABBITMQ_MEMORY_LIMIT}"
  echo "vm_memory_high_watermark.relative = ${RABBITMQ_MEMORY_HIGH_WATERMARK:-0.4}"
  echo "disk_free_limit.absolute = 50MB"
} >"$config"
export RABBITMQ_CONFIG_FILE="${config%.conf}" RABBITMQ_MNESIA_BASE=/var/lib/rabbitmq/mnesia \
  RABBITMQ_LOG_BASE=/tmp RABBITMQ_LOGS=- RABBITMQ_ENABLED_PLUGINS_FILE=/tmp/enabled_plugins
echo "[]." >/tmp/enabled_plugins
# In the background, so that SIGTERM (a pod deleted or rolled) stops the node cleanly, closing
# its clients' connections, instead of being ignored until the kubelet's SIGKILL.
rabbitmq-server &
server=$!
trap 'rabbitmqctl shutdown >/dev/null 2>&1 || kill "$server"' TERM INT
wait "$server" || true
wait "$server"
