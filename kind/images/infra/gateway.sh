#!/bin/sh
# The CI cluster's stand-in for the Istio ingress gateway: nginx with the routes of the chart's
# VirtualService (templates/istio-ingress.yaml): /events and /ws to realtime, unbuffered and
# without a route timeout; /metrics answered 404; everything else to the api. The Services are
# resolved per request through the cluster's DNS, so the gateway may start before the release.
# API_SERVICE and REALTIME_SERVICE are host:port.
set -eu
resolver="$(awk '/^nameserver/ {print $2; exit}' /etc/resolv.conf)"
cat >/tmp/nginx.conf <<CONF
worker_processes 1;
pid /tmp/nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path /tmp/client_body;
  proxy_temp_path /tmp/proxy;
  fastcgi_temp_path /tmp/fastcgi;
  uwsgi_temp_path /tmp/uwsgi;
  scgi_temp_path /tmp/scgi;
  resolver $resolver valid=5s ipv6=off;
  map \$http_upgrade \$connection_upgrade { default upgrade; '' close; }
  server {
    listen 8080;
    set \$api http://$API_SERVICE;
    set \$realtime http://$REALTIME_SERVICE;
    proxy_http_version 1.1;
    proxy_set_header Host \$host;
    proxy_set_header X-Forwarded-For \$remote_addr;
    location = /healthz { return 200 "ok\n"; }
    location = /metrics { default_type application/json; return 404 '{"detail":"Not Found"}'; }
    location /events {
      proxy_pass \$realtime;
      proxy_buffering off;
      proxy_read_timeout 1h;
      add_header X-Accel-Buffering no;
    }
    location /ws {
      proxy_pass \$realtime;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection \$connection_upgrade;
      proxy_read_timeout 1h;
    }
    location / {
      proxy_pass \$api;
      proxy_read_timeout 30s;
      # As the VirtualService's retries: a connection that fails, never an answer.
      proxy_connect_timeout 5s;
      proxy_next_upstream error;
      proxy_next_upstream_tries 3;
    }
  }
}
CONF
exec nginx -e stderr -c /tmp/nginx.conf -g 'daemon off;'
