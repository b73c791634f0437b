# The CI cluster's node image, in the layout kind expects of a node (what kind's own base and
# node images hold): systemd as PID 1, containerd and runc, the CNI plugins, kubelet, kubeadm
# and kubectl, /kind/version and the manifests kind applies at creation. Everything comes from
# Debian's packages and from the Go module proxy:
#   - Debian bookworm: systemd, containerd 1.6, runc 1.1, the CNI plugins, iptables, ...
#   - kind's node files (entrypoint, systemd units, kubelet drop-ins, sysctls), read from the
#     Go module sigs.k8s.io/kind at the pinned version by scripts/cluster.sh into the context;
#   - kubelet, kubeadm and kubectl built by kind/tools.
# scripts/cluster.sh then preloads the control plane's images into containerd (as
# `kind build node-image` does) and commits the result as pantry-ci/kind-node:<version>.
# Test-only: the Mac runs k3s (k3d/cluster.yaml), never this image.
ARG DEBIAN_IMAGE=pantry-ci/debian:bookworm
FROM ${DEBIAN_IMAGE}

RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      systemd dbus containerd runc containernetworking-plugins \
      conntrack iptables nftables ipset iproute2 ethtool util-linux mount kmod socat \
      libseccomp2 pigz e2fsprogs bash ca-certificates curl jq procps >/dev/null \
 && rm -rf /var/lib/apt/lists/* \
 # As kind's base image: no unit that a container cannot or should not run.
 && find /lib/systemd/system/sysinit.target.wants/ -name "systemd-tmpfiles-setup.service" -delete \
 && rm -f /lib/systemd/system/multi-user.target.wants/* \
          /etc/systemd/system/*.wants/* \
          /lib/systemd/system/local-fs.target.wants/* \
          /lib/systemd/system/sockets.target.wants/*udev* \
          /lib/systemd/system/sockets.target.wants/*initctl* \
          /lib/systemd/system/basic.target.wants/* \
 && echo "ReadKMsg=no" >> /etc/systemd/journald.conf \
 && ln -sf /usr/lib/systemd/systemd /sbin/init \
 # kind's units name /usr/local/bin/containerd; Debian installs it in /usr/bin. The CNI
 # plugins go where kubelet and the CNI configs look for them.
 && ln -s /usr/bin/containerd /usr/local/bin/containerd \
 && mkdir -p /opt/cni/bin && ln -s /usr/lib/cni/* /opt/cni/bin/

# kind's node files (from the Go module, staged by scripts/cluster.sh).
COPY kind-files/ /
COPY containerd.toml /etc/containerd/config.toml
RUN chmod 0755 /usr/local/bin/entrypoint /usr/local/bin/clean-install /kind/bin/*.sh \
 && ctr oci spec \
      | jq '.hooks.createContainer[.hooks.createContainer | length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' \
      | jq 'del(.process.rlimits)' > /etc/containerd/cri-base.json \
 && systemctl enable kubelet.service containerd.service undo-mount-hacks.service \
 && systemctl mask systemd-binfmt.service \
 && mkdir -p /etc/kubernetes/manifests /etc/containerd/certs.d

COPY bin/kubelet bin/kubeadm bin/kubectl /usr/bin/
COPY version /kind/version
COPY manifests/ /kind/manifests/

ENV container=docker
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]
