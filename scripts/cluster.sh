#!/usr/bin/env bash
# The CI cluster: kind, with a node image and every cluster image built on this machine from
# Debian's packages and the Go module proxy (no image registry is reachable where CI runs).
# It has the shape of k3d/cluster.yaml (one control-plane node, two workers, a local registry on
# 127.0.0.1:5111, the ingress on 127.0.0.1:8080), and `make dev`'s own steps run on it
# (scripts/dev.sh with PANTRY_CLUSTER=kind): only the cluster's creation differs.
#
#   scripts/cluster.sh up     (make cluster-up)    Docker engine, tools, images, the cluster
#   scripts/cluster.sh down   (make cluster-down)  delete the cluster and its registry
#   scripts/cluster.sh test   (make cluster-test)  up, a signed package of the chart, `make dev`'s
#                                                  steps (installing it with --verify), then
#                                                  tests/cluster
#
# Linux only, as root (it installs and starts Docker where it is missing). What it builds is kept
# under .tools/ and reused by the next run while the pinned versions are unchanged. See
# kind/README.md for what is built and why, and docs/local-development.md for what CI proves.
set -euo pipefail
cd "$(dirname "$0")/.."

# --- pinned versions ------------------------------------------------------------------------------
# Kubernetes 1.34: the newest release whose kubelet runs on cgroup v1 by default (this machine
# mounts cgroup v1) and that supports containerd 1.x (Debian bookworm's 1.6). The module
# versions are in kind/tools/go.mod; these are the image tags kubeadm v1.34.4 asks for
# (`kubeadm config images list`, checked below).
KUBERNETES_VERSION="v1.34.4"
KIND_VERSION="v0.33.0"
ETCD_TAG="3.6.5-0"
# CoreDNS 1.12.4, not kubeadm's 1.12.1: 1.12.1 does not compile against client-go 0.34 (the
# module kind/tools shares). kind/cluster.yaml tells kubeadm the tag.
COREDNS_TAG="v1.12.4"
PAUSE_TAG="3.10.1"
KUBE_ROUTER_VERSION="v2.1.0" # the CNI and NetworkPolicy enforcement (kind/README.md)
BUILDX_VERSION="v0.38.2"     # docker buildx, where the Docker CLI lacks it
REGISTRY_VERSION="v3.0.0"    # github.com/distribution/distribution/v3, in kind/tools/go.mod
DEBIAN_SUITE="bookworm"

CLUSTER="pantry"
CONTEXT="kind-$CLUSTER"
REGISTRY_NAME="pantry-registry.localhost" # as k3d names its registry container
REGISTRY_ALIAS="pantry-registry"          # how the nodes reach it on the kind network
REGISTRY_PORT="5111"
NODE_IMAGE_REPO="pantry-ci/kind-node"

TOOLS=".tools/cluster"
BIN="$TOOLS/bin"
mkdir -p "$BIN" "$TOOLS/images" "$TOOLS/log"

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
die() {
  printf '\n\033[1;31mFAILED:\033[0m %s\n' "$1" >&2
  shift
  for line in "$@"; do printf '  %s\n' "$line" >&2; done
  exit 1
}

# Seconds since the script started, for the phase lines CI prints.
started=$(date +%s)
phase() { printf '\033[1;35m--- %s (at %ss)\033[0m\n' "$*" "$(($(date +%s) - started))"; }

# A stamp of the inputs of a build: the pinned versions and the files it reads.
stamp_of() {
  {
    printf '%s\n' "$KUBERNETES_VERSION $KIND_VERSION $ETCD_TAG $COREDNS_TAG $PAUSE_TAG"
    printf '%s\n' "$KUBE_ROUTER_VERSION $BUILDX_VERSION $REGISTRY_VERSION $DEBIAN_SUITE"
    for file in "$@"; do
      printf '%s\n' "$file"
      cat "$file"
    done
  } | git hash-object --stdin | cut -c1-12
}

module_dir() {
  (cd kind/tools && go mod download -json "$1") |
    sed -n 's/^[[:space:]]*"Dir":[[:space:]]*"\(.*\)",\{0,1\}$/\1/p'
}

# BuildKit: `docker buildx build` where the CLI has buildx (as on the Mac), else the engine's
# own BuildKit through a CLI that still has it built in (Debian's docker.io).
docker_build() {
  if docker buildx version >/dev/null 2>&1; then
    docker buildx build --load --progress=quiet "$@" >/dev/null
  else
    DOCKER_BUILDKIT=1 docker build -q "$@" >/dev/null
  fi
}

# --- Docker ---------------------------------------------------------------------------------------
ensure_docker() {
  [ "$(uname -s)" = Linux ] || die "the CI cluster is for Linux; on the Mac, make dev runs k3d"
  bash scripts/cluster/docker.sh
  if ! docker buildx version >/dev/null 2>&1; then
    plugins="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
    if [ ! -x "$BIN/docker-buildx" ] || [ ! -f "$BIN/.buildx-$BUILDX_VERSION" ]; then
      say "building docker buildx $BUILDX_VERSION (the Docker CLI here has no buildx)"
      rm -f "$BIN"/.buildx-*
      GOBIN="$PWD/$BIN" CGO_ENABLED=0 go install -trimpath \
        -ldflags "-s -w -X github.com/docker/buildx/version.Version=$BUILDX_VERSION" \
        "github.com/docker/buildx/cmd/buildx@$BUILDX_VERSION"
      mv "$BIN/buildx" "$BIN/docker-buildx"
      touch "$BIN/.buildx-$BUILDX_VERSION"
    fi
    # A copy, not a link into this checkout: the plugin is the user's, and outlives a
    # checkout that is removed (as a second clone's build would otherwise break).
    mkdir -p "$plugins"
    cp "$BIN/docker-buildx" "$plugins/docker-buildx.new"
    mv -f "$plugins/docker-buildx.new" "$plugins/docker-buildx"
  fi
  docker buildx version >/dev/null 2>&1 || die "docker buildx does not run" "docker buildx version"
}

# --- Go programs ------------------------------------------------------------------------------------
build_go_tools() {
  stamp="$(stamp_of kind/tools/go.mod kind/tools/go.sum kind/tools/*/main.go)"
  if [ -f "$BIN/.go-tools-$stamp" ]; then
    say "Kubernetes $KUBERNETES_VERSION, kind, etcd, CoreDNS and the registry already built"
  else
    say "building Kubernetes $KUBERNETES_VERSION, kind $KIND_VERSION, etcd, CoreDNS and the registry (one Go module: about 15 minutes on 2 cores the first time)"
    rm -f "$BIN"/.go-tools-*
    version=k8s.io/component-base/version
    minor="${KUBERNETES_VERSION#v1.}"
    minor="${minor%%.*}"
    (cd kind/tools && CGO_ENABLED=0 go build -trimpath -o "$OLDPWD/$BIN/" -ldflags "-s -w \
      -X $version.gitVersion=$KUBERNETES_VERSION -X $version.gitMajor=1 -X $version.gitMinor=$minor \
      -X $version.gitTreeState=clean -X $version.buildDate=1970-01-01T00:00:00Z" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
      k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kube-proxy \
      k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kubeadm k8s.io/kubernetes/cmd/kubectl \
      sigs.k8s.io/kind ./etcd ./coredns ./registry)
    touch "$BIN/.go-tools-$stamp"
  fi
  GO_STAMP="$stamp"
  "$BIN/kubeadm" version -o short | grep -qx "$KUBERNETES_VERSION" ||
    die "kubeadm reports $("$BIN/kubeadm" version -o short), not $KUBERNETES_VERSION"

  # kube-router has its own go.mod (an older client-go): built in its module's folder.
  if [ ! -x "$BIN/kube-router" ] || [ ! -f "$BIN/.kube-router-$KUBE_ROUTER_VERSION" ]; then
    say "building kube-router $KUBE_ROUTER_VERSION"
    rm -f "$BIN"/.kube-router-*
    dir="$(module_dir "github.com/cloudnativelabs/kube-router/v2@$KUBE_ROUTER_VERSION")"
    (cd "$dir" && CGO_ENABLED=0 go build -trimpath -mod=readonly -o "$OLDPWD/$BIN/kube-router" \
      -ldflags "-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$KUBE_ROUTER_VERSION" \
      ./cmd/kube-router)
    touch "$BIN/.kube-router-$KUBE_ROUTER_VERSION"
  fi

  # The pause container: Kubernetes' own pause.c, static.
  if [ ! -x "$BIN/pause" ] || [ ! -f "$BIN/.pause-$PAUSE_TAG" ]; then
    say "compiling pause $PAUSE_TAG"
    dir="$(module_dir "k8s.io/kubernetes@$KUBERNETES_VERSION")"
    cc -Os -Wall -Werror -static -DVERSION="v$PAUSE_TAG" -o "$BIN/pause" "$dir/build/pause/linux/pause.c"
    strip "$BIN/pause"
    touch "$BIN/.pause-$PAUSE_TAG"
  fi
}

# --- images ---------------------------------------------------------------------------------------
image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# A Debian root file system from Debian's packages, imported as the base of every image here.
debian_base() {
  image="pantry-ci/debian:$DEBIAN_SUITE"
  image_exists "$image" && return 0
  rootfs="$TOOLS/debian-$DEBIAN_SUITE.tar"
  if [ ! -f "$rootfs" ]; then
    rm -rf "$rootfs" "$rootfs.part.tar" # mmdebstrap names the format by the file's ending
    command -v mmdebstrap >/dev/null 2>&1 || {
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
    }
    say "making a Debian $DEBIAN_SUITE root file system (mmdebstrap)"
    # shellcheck disable=SC2016 # "$1" is mmdebstrap's, in the hook's own shell
    mmdebstrap --quiet --variant=minbase --include=ca-certificates \
      --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/*' \
      "$DEBIAN_SUITE" "$rootfs.part.tar" http://deb.debian.org/debian
    mv "$rootfs.part.tar" "$rootfs"
  fi
  docker import --change 'CMD ["bash"]' "$rootfs" "$image" >/dev/null
}

# The public base images of the services' Dockerfiles, where they cannot be had: stand-ins
# under the same names (kind/images/stand-ins.Dockerfile). An image already present, pulled or
# built, is kept.
stand_ins() {
  python_image="$(sed -n 's/^ARG PYTHON_IMAGE=//p' services/api/Dockerfile)"
  uv_image="$(sed -n 's/^ARG UV_IMAGE=//p' services/api/Dockerfile)"
  uv_version="${uv_image##*:}"
  context="$TOOLS/stand-ins"
  if ! image_exists "$uv_image" && ! docker pull -q "$uv_image" >/dev/null 2>&1; then
    say "building the test-only stand-in $uv_image (uv $uv_version from PyPI)"
    rm -rf "$context" && mkdir -p "$context/extra-ca"
    python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$context" \
      "uv==$uv_version"
    python3 - "$context" <<'PY'
import glob, os, sys, zipfile
context = sys.argv[1]
with zipfile.ZipFile(glob.glob(os.path.join(context, "uv-*.whl"))[0]) as wheel:
    for name in wheel.namelist():
        if name.endswith(("/scripts/uv", "/scripts/uvx")):
            target = os.path.join(context, os.path.basename(name))
            with open(target, "wb") as out:
                out.write(wheel.read(name))
            os.chmod(target, 0o755)
PY
    docker_build -f kind/images/stand-ins.Dockerfile --target uv -t "$uv_image" "$context"
  fi
  if ! image_exists "$python_image" && ! docker pull -q "$python_image" >/dev/null 2>&1; then
    say "building the test-only stand-in $python_image (Debian $DEBIAN_SUITE's Python 3.11)"
    mkdir -p "$context/extra-ca"
    cp /usr/local/share/ca-certificates/*.crt "$context/extra-ca/" 2>/dev/null || true
    docker_build -f kind/images/stand-ins.Dockerfile --target python -t "$python_image" "$context"
  fi
}

# The cluster's component images, named as kubeadm and the manifests ask for them, saved for the
# node image's preload.
component_images() {
  context="$TOOLS/components"
  rm -rf "$context" && mkdir -p "$context"
  cp "$BIN"/kube-apiserver "$BIN"/kube-controller-manager "$BIN"/kube-scheduler "$BIN"/kube-proxy \
    "$BIN"/etcd "$BIN"/coredns "$BIN"/pause "$BIN"/kube-router "$BIN"/registry \
    kind/images/registry.yml "$context/"
  stamp="$(stamp_of kind/images/components.Dockerfile kind/images/registry.yml)-$GO_STAMP"
  archive="$TOOLS/images/components-$stamp.tar"
  if [ -s "$archive" ]; then
    say "component images already built"
  else
    say "building the component images (control plane, kube-proxy, etcd, CoreDNS, pause, kube-router, registry)"
    rm -f "$TOOLS"/images/components-*.tar
    set -- \
      "kube-apiserver registry.k8s.io/kube-apiserver:$KUBERNETES_VERSION" \
      "kube-controller-manager registry.k8s.io/kube-controller-manager:$KUBERNETES_VERSION" \
      "kube-scheduler registry.k8s.io/kube-scheduler:$KUBERNETES_VERSION" \
      "kube-proxy registry.k8s.io/kube-proxy:$KUBERNETES_VERSION" \
      "etcd registry.k8s.io/etcd:$ETCD_TAG" \
      "coredns registry.k8s.io/coredns/coredns:$COREDNS_TAG" \
      "pause registry.k8s.io/pause:$PAUSE_TAG" \
      "kube-router docker.io/cloudnativelabs/kube-router:$KUBE_ROUTER_VERSION" \
      "registry pantry-ci/registry:$REGISTRY_VERSION"
    images=""
    for pair in "$@"; do
      target="${pair%% *}"
      image="${pair#* }"
      docker_build -f kind/images/components.Dockerfile --target "$target" -t "$image" "$context"
      case "$target" in registry) ;; *) images="$images $image" ;; esac
    done
    # shellcheck disable=SC2086 # a list of image names
    docker save -o "$archive.tmp" $images
    mv "$archive.tmp" "$archive"
  fi
  COMPONENTS_ARCHIVE="$archive"
}

# kind's node layout on Debian, with the component images preloaded into containerd (as
# `kind build node-image` does: a privileged build container, `ctr images import`, commit).
node_image() {
  kind_dir="$(module_dir "sigs.k8s.io/kind@$KIND_VERSION")"
  router_dir="$(module_dir "github.com/cloudnativelabs/kube-router/v2@$KUBE_ROUTER_VERSION")"
  stamp="$(stamp_of kind/images/node.Dockerfile kind/containerd.toml kind/storage.yaml)-$(basename "$COMPONENTS_ARCHIVE" .tar | cut -c12-)"
  NODE_IMAGE="$NODE_IMAGE_REPO:$KUBERNETES_VERSION-$stamp"
  if image_exists "$NODE_IMAGE"; then
    say "node image $NODE_IMAGE already built"
    return 0
  fi
  say "building the node image $NODE_IMAGE"
  context="$TOOLS/node"
  rm -rf "$context" && mkdir -p "$context/bin" "$context/manifests"
  cp -R "$kind_dir/images/base/files" "$context/kind-files"
  chmod -R u+w "$context/kind-files"
  rm -rf "$context/kind-files/LICENSES" "$context/kind-files/etc/containerd" \
    "$context/kind-files/etc/systemd/system/containerd-fuse-overlayfs.service"
  cp kind/containerd.toml "$context/containerd.toml"
  cp "$BIN/kubelet" "$BIN/kubeadm" "$BIN/kubectl" "$context/bin/"
  printf '%s' "$KUBERNETES_VERSION" >"$context/version"
  # The CNI kind applies at creation: kube-router's own kubeadm manifest, with our image's tag.
  sed -e "s#image: docker.io/cloudnativelabs/kube-router\$#image: docker.io/cloudnativelabs/kube-router:$KUBE_ROUTER_VERSION#" \
    -e 's#imagePullPolicy: Always#imagePullPolicy: IfNotPresent#' \
    "$router_dir/daemonset/kubeadm-kuberouter.yaml" >"$context/manifests/default-cni.yaml"
  grep -q "kube-router:$KUBE_ROUTER_VERSION" "$context/manifests/default-cni.yaml" ||
    die "kube-router's manifest no longer names its image as expected" "$router_dir/daemonset/kubeadm-kuberouter.yaml"
  cp kind/storage.yaml "$context/manifests/default-storage.yaml"
  docker_build -f kind/images/node.Dockerfile -t "$NODE_IMAGE_REPO:build" "$context"

  build="pantry-node-build-$$"
  docker rm -f "$build" >/dev/null 2>&1 || true
  docker run -d --name "$build" --privileged --entrypoint=sleep "$NODE_IMAGE_REPO:build" infinity >/dev/null
  docker cp "$COMPONENTS_ARCHIVE" "$build:/kind/images.tar"
  docker exec "$build" bash -c '
    set -euo pipefail
    containerd >/tmp/containerd.log 2>&1 &
    for _ in $(seq 30); do ctr version >/dev/null 2>&1 && break; sleep 1; done
    ctr --namespace=k8s.io images import --all-platforms --no-unpack --snapshotter overlayfs /kind/images.tar >/dev/null
    ctr --namespace=k8s.io images list -q | grep -v "^sha256:"
    rm -f /kind/images.tar
    kill %1 && wait || true' | sed 's/^/    preloaded /'
  docker commit --change 'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]' \
    "$build" "$NODE_IMAGE" >/dev/null
  docker rm -f "$build" >/dev/null
  docker rmi "$NODE_IMAGE_REPO:build" >/dev/null 2>&1 || true

  # What kubeadm of this version asks for must be what was preloaded.
  expected="$(docker run --rm --entrypoint kubeadm "$NODE_IMAGE" config images list --kubernetes-version "$KUBERNETES_VERSION" 2>/dev/null |
    sed "s#^\(registry.k8s.io/coredns/coredns\):.*#\1:$COREDNS_TAG#")"
  if ! grep -q "imageTag: $COREDNS_TAG" kind/cluster.yaml; then
    die "kind/cluster.yaml must give kubeadm CoreDNS's tag $COREDNS_TAG"
  fi
  manifest="$(tar -xOf "$COMPONENTS_ARCHIVE" manifest.json)"
  for image in $expected; do
    case "$manifest" in
      *"\"$image\""*) ;;
      *) die "kubeadm $KUBERNETES_VERSION wants $image, which the node image lacks" \
        "Update ETCD_TAG, COREDNS_TAG or PAUSE_TAG in scripts/cluster.sh" ;;
    esac
  done
}

# --- the cluster ----------------------------------------------------------------------------------
kc() { "$BIN/kubectl" --context "$CONTEXT" "$@"; }

registry_up() {
  if [ "$(docker inspect -f '{{.State.Running}}' "$REGISTRY_NAME" 2>/dev/null)" = true ]; then
    say "registry $REGISTRY_NAME runs (127.0.0.1:$REGISTRY_PORT)"
  else
    docker rm -f "$REGISTRY_NAME" >/dev/null 2>&1 || true
    say "starting the registry $REGISTRY_NAME on 127.0.0.1:$REGISTRY_PORT"
    docker run -d --restart=always --name "$REGISTRY_NAME" \
      -p "127.0.0.1:$REGISTRY_PORT:5000" "pantry-ci/registry:$REGISTRY_VERSION" >/dev/null
  fi
  docker network inspect kind >/dev/null 2>&1 || return 0
  if ! docker network inspect kind -f '{{range .Containers}}{{.Name}} {{end}}' | grep -qw "$REGISTRY_NAME"; then
    docker network connect --alias "$REGISTRY_ALIAS" kind "$REGISTRY_NAME"
  fi
}

cluster_exists() {
  "$BIN/kind" get clusters 2>/dev/null | grep -qx "$CLUSTER"
}

# The nodes pull `pantry-registry.localhost:5000/...` (the name the chart gets, as with k3d)
# from the registry container on the kind network; the cluster says so in kube-public
# (KEP-1755), where scripts/dev.sh reads it.
registry_on_nodes() {
  for node in $("$BIN/kind" get nodes --name "$CLUSTER"); do
    docker exec "$node" sh -c "
      mkdir -p '/etc/containerd/certs.d/$REGISTRY_NAME:5000'
      printf '%s\n' 'server = \"http://$REGISTRY_ALIAS:5000\"' '' \
        '[host.\"http://$REGISTRY_ALIAS:5000\"]' '  capabilities = [\"pull\", \"resolve\"]' \
        >'/etc/containerd/certs.d/$REGISTRY_NAME:5000/hosts.toml'"
  done
  kc apply -f - >/dev/null <<YAML
apiVersion: v1
kind: ConfigMap
metadata:
  name: local-registry-hosting
  namespace: kube-public
data:
  localRegistryHosting.v1: |
    host: "localhost:$REGISTRY_PORT"
    hostFromContainerRuntime: "$REGISTRY_NAME:5000"
    hostFromClusterNetwork: "$REGISTRY_ALIAS:5000"
YAML
}

up() {
  phase "cluster: Docker engine"
  ensure_docker
  phase "cluster: Go programs"
  build_go_tools
  phase "cluster: images"
  debian_base
  stand_ins
  component_images
  node_image
  phase "cluster: create"
  # `test` asks for a new cluster; kind is at hand only from here on (built above).
  if [ "${FRESH_CLUSTER:-0}" = 1 ] && cluster_exists; then down; fi
  registry_up
  if cluster_exists; then
    say "cluster $CLUSTER exists"
    for node in $("$BIN/kind" get nodes --name "$CLUSTER"); do
      docker start "$node" >/dev/null
    done
  else
    # kind makes its context the current one; the user's own is put back (as k3d does with
    # switchCurrentContext: false).
    previous="$("$BIN/kubectl" config current-context 2>/dev/null || true)"
    say "creating the kind cluster $CLUSTER (kind/cluster.yaml, $NODE_IMAGE)"
    config="$TOOLS/kind-cluster.yaml"
    sed "s|@SOURCE@|$(pwd -P)|g" kind/cluster.yaml >"$config"
    "$BIN/kind" create cluster --name "$CLUSTER" --config "$config" \
      --image "$NODE_IMAGE" --wait 5m ||
      die "kind could not create the cluster" "docker logs $CLUSTER-control-plane | tail -50" \
        "kind export logs --name $CLUSTER $TOOLS/log/kind"
    if [ -n "$previous" ] && [ "$previous" != "$CONTEXT" ]; then
      "$BIN/kubectl" config use-context "$previous" >/dev/null
    fi
  fi
  registry_up
  registry_on_nodes
  kc wait --for=condition=Ready nodes --all --timeout=300s >/dev/null ||
    die "the nodes are not Ready" "kubectl --context $CONTEXT get nodes -o wide" \
      "kubectl --context $CONTEXT -n kube-system get pods -o wide"
  kc get nodes -o wide
}

down() {
  if [ -x "$BIN/kind" ] && cluster_exists; then
    say "deleting the kind cluster $CLUSTER"
    "$BIN/kind" delete cluster --name "$CLUSTER"
  else
    say "no cluster $CLUSTER"
  fi
  docker rm -f "$REGISTRY_NAME" >/dev/null 2>&1 || true
}

# The chart as a release ships it: packaged and signed (helm package --sign writes the .prov),
# with a key pair made for this run (RSA: helm's OpenPGP reads no EdDSA) in a private folder that
# goes on exit. make dev's steps then install that package with `helm upgrade --install --verify
# --keyring` the public half (PANTRY_CHART_PACKAGE, PANTRY_CHART_KEYRING: scripts/dev.sh), and
# tests/cluster shows a tampered copy refused.
signed_chart() {
  command -v gpg >/dev/null 2>&1 || die "gpg is missing: apt-get install gnupg"
  keys="$(mktemp -d "${TMPDIR:-/tmp}/pantry-chart-key.XXXXXX")"
  trap 'GNUPGHOME="$keys/gnupg" gpgconf --kill gpg-agent >/dev/null 2>&1 || true; rm -rf "$keys"' EXIT
  chmod 700 "$keys"
  mkdir -m 700 "$keys/gnupg"
  key="Pantry Chef cluster test <cluster-test@example.invalid>"
  GNUPGHOME="$keys/gnupg" gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
    --quick-generate-key "$key" rsa2048 sign never 2>/dev/null ||
    die "gpg could not make the signing key"
  # helm reads the legacy keyring format, not gpg 2's keybox: both halves exported into one each.
  GNUPGHOME="$keys/gnupg" gpg --batch --export "$key" >"$keys/pubring.gpg"
  (umask 077 && GNUPGHOME="$keys/gnupg" gpg --batch --export-secret-keys "$key" >"$keys/secring.gpg")
  .tools/bin/helm dependency build helm/pantry-chef --skip-refresh >/dev/null
  .tools/bin/helm package helm/pantry-chef -d "$keys/chart" --sign --key "$key" \
    --keyring "$keys/secring.gpg" >/dev/null
  PANTRY_CHART_PACKAGE="$(ls "$keys"/chart/pantry-chef-*.tgz)"
  PANTRY_CHART_KEYRING="$keys/pubring.gpg"
  export PANTRY_CHART_PACKAGE PANTRY_CHART_KEYRING
  .tools/bin/helm verify "$PANTRY_CHART_PACKAGE" --keyring "$PANTRY_CHART_KEYRING" | sed 's/^/    /'
}

cluster_test() {
  # A new cluster every time: what is proven does not depend on what an earlier run left.
  FRESH_CLUSTER=1 up
  phase "cluster: the chart, packaged and signed"
  signed_chart
  phase "cluster: make dev's steps (scripts/dev.sh up, PANTRY_CLUSTER=kind)"
  PATH="$PWD/$BIN:$PATH" PANTRY_CLUSTER=kind bash scripts/dev.sh up
  phase "cluster: tests/cluster"
  PATH="$PWD/$BIN:$PATH" PANTRY_CLUSTER=kind uv run --frozen pytest tests/cluster -p no:cacheprovider
  phase "cluster: done"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  test) cluster_test ;;
  *) die "usage: scripts/cluster.sh up|down|test" ;;
esac
