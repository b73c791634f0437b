# The images of the CI cluster's own components, from the binaries that kind/tools builds (Go
# module proxy) on a Debian base made from Debian's packages. Test-only: no registry can be
# reached where CI runs, so each is built here under the name its manifests ask for
# (scripts/cluster.sh tags them). One target per image:
#
#   docker build -f kind/images/components.Dockerfile --target kube-apiserver <bin dir>
#
# The build context is the folder of the built binaries (and pause, compiled from Kubernetes'
# build/pause/linux/pause.c).
ARG DEBIAN_IMAGE=pantry-ci/debian:bookworm

# Static Go binaries need nothing but themselves.
FROM scratch AS kube-apiserver
COPY kube-apiserver /usr/local/bin/kube-apiserver
ENTRYPOINT ["/usr/local/bin/kube-apiserver"]

FROM scratch AS kube-controller-manager
COPY kube-controller-manager /usr/local/bin/kube-controller-manager
ENTRYPOINT ["/usr/local/bin/kube-controller-manager"]

FROM scratch AS kube-scheduler
COPY kube-scheduler /usr/local/bin/kube-scheduler
ENTRYPOINT ["/usr/local/bin/kube-scheduler"]

FROM scratch AS etcd
COPY etcd /usr/local/bin/etcd
ENTRYPOINT ["/usr/local/bin/etcd"]

FROM scratch AS coredns
COPY coredns /coredns
EXPOSE 53 53/udp
ENTRYPOINT ["/coredns"]

FROM scratch AS pause
COPY pause /pause
USER 65535:65535
ENTRYPOINT ["/pause"]

FROM scratch AS registry
COPY registry /bin/registry
COPY registry.yml /etc/distribution/config.yml
EXPOSE 5000
ENTRYPOINT ["/bin/registry"]
CMD ["serve", "/etc/distribution/config.yml"]

# The node programs drive the kernel's packet filter: they need iptables, ipset and conntrack.
FROM ${DEBIAN_IMAGE} AS netbase
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      iptables ipset iproute2 conntrack kmod nftables >/dev/null \
 && rm -rf /var/lib/apt/lists/*

FROM netbase AS kube-proxy
COPY kube-proxy /usr/local/bin/kube-proxy
ENTRYPOINT ["/usr/local/bin/kube-proxy"]

FROM netbase AS kube-router
COPY kube-router /usr/local/bin/kube-router
ENTRYPOINT ["/usr/local/bin/kube-router"]
