# Test-only servers for the CI cluster: PostgreSQL, Redis and RabbitMQ from Debian bookworm's
# packages (the Bitnami images that `make dev` installs on the Mac cannot be pulled where CI
# runs), and the stand-in for the Istio ingress gateway (nginx: Envoy cannot be built there).
# The chart helm/ci runs them; scripts/cluster.sh builds and pushes them to the cluster's
# registry. One target per image; the context is kind/images/infra.
ARG DEBIAN_IMAGE=pantry-ci/debian:bookworm

FROM ${DEBIAN_IMAGE} AS postgresql
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      postgresql-15 >/dev/null \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/run/postgresql && chown postgres:postgres /var/run/postgresql
COPY postgresql.sh /usr/local/bin/pantry-postgresql
USER postgres
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
EXPOSE 5432
ENTRYPOINT ["/bin/sh", "/usr/local/bin/pantry-postgresql"]

FROM ${DEBIAN_IMAGE} AS redis
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      redis-server >/dev/null \
 && rm -rf /var/lib/apt/lists/*
USER redis
EXPOSE 6379
# The password comes from the environment (a Secret), never from the command line of the image.
ENTRYPOINT ["/bin/sh", "-c", "exec redis-server --port 6379 --bind 0.0.0.0 --protected-mode no --save '' --appendonly no --requirepass \"$REDIS_PASSWORD\""]

FROM ${DEBIAN_IMAGE} AS rabbitmq
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      rabbitmq-server >/dev/null \
 && rm -rf /var/lib/apt/lists/*
COPY rabbitmq.sh /usr/local/bin/pantry-rabbitmq
USER rabbitmq
ENV HOME=/var/lib/rabbitmq RABBITMQ_NODENAME=rabbit@localhost
EXPOSE 5672
ENTRYPOINT ["/bin/sh", "/usr/local/bin/pantry-rabbitmq"]

FROM ${DEBIAN_IMAGE} AS gateway
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      nginx-light >/dev/null \
 && rm -rf /var/lib/apt/lists/*
COPY gateway.sh /usr/local/bin/pantry-gateway
USER www-data
EXPOSE 8080
ENTRYPOINT ["/bin/sh", "/usr/local/bin/pantry-gateway"]
