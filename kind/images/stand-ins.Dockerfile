# Test-only stand-ins for the two public base images that the services' Dockerfiles name and
# that cannot be pulled where CI runs (no registry is reachable there). scripts/cluster.sh
# builds each under the very name the Dockerfiles use, and only where that name is missing, so
# the services' Dockerfiles are built unchanged; on the Mac, and in the repository's own CI,
# the real images are pulled.
#
#   python  -> python:3.11.14-slim-bookworm  (Debian bookworm's Python 3.11, in /usr/local/bin
#              as the official image has it)
#   uv      -> ghcr.io/astral-sh/uv:0.13.9   (the uv binary from PyPI's uv wheel of that version)
#
# The python stand-in also trusts the certificate authorities that the building machine adds
# to its own store (/usr/local/share/ca-certificates, copied into the context as extra-ca/):
# where the machine reaches PyPI through a TLS-inspecting proxy, `uv sync` in the build stage
# needs them. SSL_CERT_FILE makes uv read the system store.
ARG DEBIAN_IMAGE=pantry-ci/debian:bookworm

FROM ${DEBIAN_IMAGE} AS python
COPY extra-ca/ /tmp/extra-ca/
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      python3 ca-certificates netbase tzdata >/dev/null \
 && rm -rf /var/lib/apt/lists/* \
 && { cp /tmp/extra-ca/*.crt /usr/local/share/ca-certificates/ 2>/dev/null || true; } \
 && rm -rf /tmp/extra-ca \
 && update-ca-certificates >/dev/null \
 && ln -s /usr/bin/python3.11 /usr/local/bin/python3.11 \
 && ln -s python3.11 /usr/local/bin/python3 \
 && ln -s python3.11 /usr/local/bin/python
ENV LANG=C.UTF-8 SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
CMD ["python3"]

FROM scratch AS uv
COPY uv uvx /
