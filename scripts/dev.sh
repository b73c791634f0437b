#!/usr/bin/env bash
# Pantry Chef on a local k3d cluster behind the Istio ingress gateway.
#
#   scripts/dev.sh up       (make dev)         everything, idempotent, then a smoke check
#   scripts/dev.sh images   (make images)      build the three images for this machine
#   scripts/dev.sh smoke                       the smoke check alone
#   scripts/dev.sh app                         the app's release alone (images, helm, smoke)
#   scripts/dev.sh status   (make dev-status)  what runs
#   scripts/dev.sh forward  (make forward)     port-forward api :8000 and realtime :8001
#   scripts/dev.sh down     (make dev-down)    delete the cluster and its registry
#
# The inner loop (docs/local-development.md):
#   scripts/dev.sh watch            (make dev-watch)  the app from the mounted source tree,
#                                                     reloading on save; rebuilds an image when
#                                                     a pyproject.toml or uv.lock changes
#   scripts/dev.sh watch-deps                         that last watch alone
#   scripts/dev.sh image SERVICE    (make dev-image)  build, push and roll one service's image
#   scripts/dev.sh logs SERVICE     (make dev-logs)   follow a service's logs over its pods
#   scripts/dev.sh shell SERVICE    (make dev-shell)  a shell in one of its pods
#   scripts/dev.sh scale SERVICE N  (make dev-scale)  N replicas, and where they run
#
# PANTRY_CLUSTER picks the cluster: k3d (the default, the Mac's) or kind (the CI cluster that
# scripts/cluster.sh creates, `make cluster-test`). Every step after the cluster exists is this
# same code for both; on kind, what that machine cannot have is replaced, each in one place
# below: the Istio ingress gateway (Envoy cannot be built there: Istio's CRDs and the stand-in
# gateway of helm/ci), the Bitnami servers (their images cannot be pulled: helm/ci's servers,
# built from Debian's packages) and helm/values/ci.yaml on top of helm/values/local.yaml.
#
# With PANTRY_CHART_PACKAGE (a packaged chart, its .prov beside it) and PANTRY_CHART_KEYRING (the
# public keyring of its signer), the app's release is that package, installed with
# `helm upgrade --install --verify`: what the CI cluster does (scripts/cluster.sh signs the
# package). Without them, the chart's folder, as on the Mac (no gpg needed).
#
# With NEW_RELIC_LICENSE_KEY in the environment, `up` also installs New Relic's Kubernetes
# integration and turns the agent on in the services (docs/observability.md); without it, neither.
#
# Written for macOS first: bash 3.2, BSD sed and grep; no GNU-only flags. See
# docs/local-development.md for the flow and the troubleshooting.
set -euo pipefail
cd "$(dirname "$0")/.."

# --- pinned versions and names -------------------------------------------------------------------
# ISTIO_VERSION must equal ISTIO_VERSION in scripts/install-tools.sh (the chart tests validate
# the Istio objects against this version's CRDs; a test checks the two agree).
ISTIO_VERSION="1.31.4"
ISTIO_REPO="https://istio-release.storage.googleapis.com/charts"
BITNAMI_CHARTS="oci://registry-1.docker.io/bitnamicharts"
POSTGRESQL_CHART_VERSION="16.7.27" # PostgreSQL 17.6
REDIS_CHART_VERSION="22.0.7"       # Redis 8.2
RABBITMQ_CHART_VERSION="16.0.14"   # RabbitMQ 4.1
# New Relic's Kubernetes integration, optional (only with NEW_RELIC_LICENSE_KEY set): values in
# helm/infra/newrelic.yaml, see docs/observability.md.
NRI_BUNDLE_CHART_VERSION="8.0.14"
NEWRELIC_REPO="https://helm-charts.newrelic.com"

CLUSTER="pantry"                    # metadata.name in k3d/cluster.yaml, --name in scripts/cluster.sh
PANTRY_CLUSTER="${PANTRY_CLUSTER:-k3d}"
case "$PANTRY_CLUSTER" in
  k3d | kind) CONTEXT="$PANTRY_CLUSTER-$CLUSTER" ;;
  *) printf 'PANTRY_CLUSTER must be k3d or kind, not %s\n' "$PANTRY_CLUSTER" >&2; exit 2 ;;
esac
REGISTRY_PUSH="localhost:5111"      # registries.create.hostPort in k3d/cluster.yaml
REGISTRY_NODES="pantry-registry.localhost:5000" # how the nodes name it (fallback)
APP_NAMESPACE="pantry"
INFRA_NAMESPACE="pantry-infra"
RELEASE="pantry-chef"
NEWRELIC_NAMESPACE="newrelic"
NEWRELIC_RELEASE="newrelic-bundle"
NEWRELIC_SECRET="newrelic-license"  # key license-key; newRelic.licenseKeySecret in the app chart
INGRESS_URL="${PANTRY_INGRESS_URL:-http://localhost:8080}"
SERVICES="api recipe-engine realtime"

if [ -x .tools/bin/helm ]; then HELM=".tools/bin/helm"; else HELM="helm"; fi

# Every temporary file goes in here, removed on every exit (some hold credentials).
TMP_DIR="$(mktemp -d "${TMPDIR:-/tmp}/pantry-dev.XXXXXX")"
trap 'rm -rf "$TMP_DIR"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- output ---------------------------------------------------------------------------------------
say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
warn() { printf '\033[1;33mwarning:\033[0m %s\n' "$*" >&2; }
die() {
  printf '\n\033[1;31mFAILED:\033[0m %s\n' "$1" >&2
  shift
  for line in "$@"; do printf '%s\n' "$line" | sed 's/^/  /' >&2; done
  exit 1
}

kc() { kubectl --context "$CONTEXT" "$@"; }
hm() { "$HELM" --kube-context "$CONTEXT" "$@"; }

# --- tools ----------------------------------------------------------------------------------------
check_tools() {
  missing=""
  for tool in docker "$PANTRY_CLUSTER" helm kubectl; do
    if [ "$tool" = helm ] && [ -x .tools/bin/helm ]; then continue; fi
    command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
  done
  if [ -n "$missing" ]; then
    brew_line=""
    for tool in $missing; do
      case "$tool" in docker | kind) ;; *) brew_line="$brew_line $tool" ;; esac
    done
    {
      printf '\n\033[1;31mFAILED:\033[0m missing tools:%s\n' "$missing"
      [ -z "$brew_line" ] || printf '  brew install%s\n' "$brew_line"
      case " $missing " in *" kind "*) printf '  kind: make cluster-up builds it (.tools/cluster/bin)\n' ;; esac
      case " $missing " in
        *" docker "*)
          printf '  brew install --cask docker        # Docker Desktop, or colima:\n'
          printf '  brew install colima docker docker-buildx && colima start --cpu 4 --memory 8\n'
          ;;
      esac
    } >&2
    exit 1
  fi
  docker info >/dev/null 2>&1 ||
    die "Docker is installed but its engine does not answer" \
      "Start Docker Desktop, or: colima start --cpu 4 --memory 8"
  docker buildx version >/dev/null 2>&1 ||
    die "docker buildx is missing" \
      "brew install docker-buildx, then link it as a Docker CLI plugin:" \
      "mkdir -p ~/.docker/cli-plugins && ln -sfn \"\$(brew --prefix)/opt/docker-buildx/bin/docker-buildx\" ~/.docker/cli-plugins/docker-buildx"
  memory="$(docker info --format '{{.MemTotal}}' 2>/dev/null || echo 0)"
  case "$memory" in '' | *[!0-9]*) memory=0 ;; esac
  if [ "$memory" -gt 0 ] && [ "$memory" -lt 6000000000 ]; then
    warn "the Docker VM has $((memory / 1048576)) MiB of memory; Istio, PostgreSQL, Redis, RabbitMQ and three services want 6 GiB or more (Docker Desktop: Settings > Resources; colima start --memory 8)"
  fi
}

# --- images ---------------------------------------------------------------------------------------
# The git revision, with a hash of the uncommitted changes when there are any: a rebuilt image
# of changed code gets a new tag (so the pods roll), the same code keeps its tag. Never latest.
image_tag() {
  if ! git rev-parse --verify HEAD >/dev/null 2>&1; then
    echo "no-git-$(date +%Y%m%d%H%M%S)"
    return
  fi
  rev="$(git rev-parse --short=12 HEAD)"
  if [ -z "$(git status --porcelain --untracked-files=normal)" ]; then
    echo "$rev"
    return
  fi
  changes="$({
    git diff HEAD --binary
    git ls-files --others --exclude-standard | while IFS= read -r file; do
      printf '%s\n' "$file"
      cat "$file"
    done
  } | git hash-object --stdin | cut -c1-8)"
  echo "$rev-dirty-$changes"
}

# The platform of the Docker engine (the cluster's nodes run on it): arm64 on Apple silicon.
platform() {
  arch="$(docker version --format '{{.Server.Arch}}' 2>/dev/null || uname -m)"
  case "$arch" in
    arm64 | aarch64) echo "linux/arm64" ;;
    amd64 | x86_64) echo "linux/amd64" ;;
    *) die "unknown architecture $arch" ;;
  esac
}

build_images() {
  tag="$1"
  plat="$(platform)"
  for service in ${2:-$SERVICES}; do
    say "building pantry-chef/$service:$tag for $plat"
    docker buildx build --platform "$plat" --load \
      -f "services/$service/Dockerfile" -t "pantry-chef/$service:$tag" . ||
      die "the image of $service did not build" "docker buildx build -f services/$service/Dockerfile ."
  done
}

push_images() {
  tag="$1"
  for service in ${2:-$SERVICES}; do
    target="$REGISTRY_PUSH/pantry-chef/$service:$tag"
    docker tag "pantry-chef/$service:$tag" "$target"
    docker push --quiet "$target" >/dev/null ||
      die "could not push $target to the cluster's registry" \
        "Is the registry running? docker ps --filter name=pantry-registry" \
        "Something else on port ${REGISTRY_PUSH#*:}? lsof -nP -iTCP:${REGISTRY_PUSH#*:} -sTCP:LISTEN" \
        "Fallback without a registry: k3d image import pantry-chef/$service:$tag -c $CLUSTER" \
        "(with Docker Desktop's containerd image store, import may fail: see docs/local-development.md)"
    say "pushed $target"
  done
}

# How the cluster's nodes name the registry: k3d publishes it in kube-public (KEP-1755).
registry_for_nodes() {
  found="$(kc -n kube-public get configmap local-registry-hosting \
    -o jsonpath='{.data.localRegistryHosting\.v1}' 2>/dev/null |
    sed -n 's/^hostFromContainerRuntime:[[:space:]]*"\{0,1\}\([^"]*\)"\{0,1\}[[:space:]]*$/\1/p')"
  echo "${found:-$REGISTRY_NODES}"
}

# --- cluster --------------------------------------------------------------------------------------
port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

ensure_cluster() {
  if [ "$PANTRY_CLUSTER" = kind ]; then
    kind get clusters 2>/dev/null | grep -qx "$CLUSTER" ||
      die "no kind cluster $CLUSTER" "make cluster-up creates it (scripts/cluster.sh)"
    kc wait --for=condition=Ready nodes --all --timeout=180s >/dev/null ||
      die "the cluster's nodes are not Ready" "kubectl --context $CONTEXT get nodes"
    return 0
  fi
  if k3d cluster get "$CLUSTER" >/dev/null 2>&1; then
    say "cluster $CLUSTER exists: starting it if stopped"
    k3d cluster start "$CLUSTER" >/dev/null
  else
    for port in 8080 8443 5111 6550; do
      if port_in_use "$port"; then
        die "port $port on this machine is taken; k3d/cluster.yaml needs it" \
          "Who has it: lsof -nP -iTCP:$port -sTCP:LISTEN"
      fi
    done
    say "creating the k3d cluster $CLUSTER (k3d/cluster.yaml, this repository at /src on every node)"
    # The source tree on the nodes, for make dev-watch (a path of this machine, so not in the file).
    k3d cluster create --config k3d/cluster.yaml --volume "$(pwd -P):/src@all"
  fi
  kc wait --for=condition=Ready nodes --all --timeout=180s >/dev/null ||
    die "the cluster's nodes are not Ready" "kubectl --context $CONTEXT get nodes"
}

# Whether a release is deployed with this chart version (then an install can be skipped).
release_current() {
  name="$1" namespace="$2" chart="$3"
  hm list -n "$namespace" --deployed -o json 2>/dev/null |
    grep -q "\"name\":\"$name\"[^}]*\"chart\":\"$chart\""
}

install_istio() {
  if [ "$PANTRY_CLUSTER" = kind ]; then
    install_ci_gateway
    return 0
  fi
  if release_current istio-base istio-system "base-$ISTIO_VERSION"; then
    say "Istio base $ISTIO_VERSION already installed"
  else
    say "installing Istio base $ISTIO_VERSION (CRDs)"
    hm upgrade --install istio-base base --repo "$ISTIO_REPO" --version "$ISTIO_VERSION" \
      -n istio-system --create-namespace --set defaultRevision=default --wait
  fi
  # Istio's CNI node agent sets up each pod's traffic redirection, so the sidecar needs no
  # init container with NET_ADMIN: the app's namespace can then enforce the `restricted` Pod
  # Security Standard. global.platform=k3d gives k3s's CNI folders.
  if release_current istio-cni istio-system "cni-$ISTIO_VERSION"; then
    say "Istio CNI $ISTIO_VERSION already installed"
  else
    say "installing Istio's CNI node agent $ISTIO_VERSION"
    hm upgrade --install istio-cni cni --repo "$ISTIO_REPO" --version "$ISTIO_VERSION" \
      -n istio-system --set global.platform=k3d --wait --timeout 10m
  fi
  if release_current istiod istio-system "istiod-$ISTIO_VERSION"; then
    say "istiod $ISTIO_VERSION already installed"
  else
    say "installing istiod $ISTIO_VERSION"
    hm upgrade --install istiod istiod --repo "$ISTIO_REPO" --version "$ISTIO_VERSION" \
      -n istio-system --set global.platform=k3d --set pilot.cni.enabled=true --wait --timeout 10m
  fi
  kc create namespace istio-ingress --dry-run=client -o yaml | kc apply -f - >/dev/null
  kc label namespace istio-ingress istio-injection=enabled --overwrite >/dev/null
  if release_current istio-ingress istio-ingress "gateway-$ISTIO_VERSION"; then
    say "Istio ingress gateway $ISTIO_VERSION already installed"
  else
    # Release name istio-ingress: the chart labels the gateway pods `istio: ingress`, which is
    # what the chart's Gateway selects (istio.gateway.selector).
    say "installing the Istio ingress gateway $ISTIO_VERSION (release istio-ingress)"
    hm upgrade --install istio-ingress gateway --repo "$ISTIO_REPO" --version "$ISTIO_VERSION" \
      -n istio-ingress --wait --timeout 10m
  fi
}

# --- the CI cluster's stand-ins (PANTRY_CLUSTER=kind) ------------------------------------------------
# Test-only images of helm/ci, built from kind/images/infra.Dockerfile and pushed like the app's.
ci_images() {
  [ -z "${CI_IMAGE_TAG:-}" ] || return 0
  CI_IMAGE_TAG="$({
    cat kind/images/infra.Dockerfile
    for file in kind/images/infra/*; do printf '%s\n' "$file"; cat "$file"; done
  } | git hash-object --stdin | cut -c1-12)"
  for target in postgresql redis rabbitmq gateway; do
    image="$REGISTRY_PUSH/pantry-ci/$target:$CI_IMAGE_TAG"
    if ! docker image inspect "$image" >/dev/null 2>&1; then
      say "building the test-only image pantry-ci/$target:$CI_IMAGE_TAG"
      docker buildx build --load --progress=quiet -f kind/images/infra.Dockerfile --target "$target" \
        -t "$image" kind/images/infra >/dev/null ||
        die "the image pantry-ci/$target did not build" "docker buildx build -f kind/images/infra.Dockerfile --target $target kind/images/infra"
    fi
    # Pushed every time: a new cluster has a new, empty registry.
    docker push --quiet "$image" >/dev/null || die "could not push $image"
  done
}

# Istio's CRDs (the chart's Istio objects are applied against them, validated by the API
# server) and nginx in place of the Envoy gateway, with the VirtualService's routes.
install_ci_gateway() {
  crds=".tools/istio/crds-$ISTIO_VERSION.yaml"
  [ -s "$crds" ] || die "Istio's CRDs are missing: make tools"
  say "applying Istio $ISTIO_VERSION's CRDs (no Envoy on this cluster: they validate the chart's Istio objects)"
  kc apply --server-side --force-conflicts -f "$crds" >/dev/null
  kc create namespace istio-ingress --dry-run=client -o yaml | kc apply -f - >/dev/null
  ci_images
  say "installing the CI gateway (helm/ci, release ci-gateway) in istio-ingress"
  hm upgrade --install ci-gateway helm/ci -n istio-ingress --set gateway.enabled=true \
    --set image.registry="$(registry_for_nodes)" --set-string image.tag="$CI_IMAGE_TAG" \
    --wait --timeout 5m ||
    die "the CI gateway did not become ready" "kubectl --context $CONTEXT -n istio-ingress get pods"
}

# 32 hex characters (URL-safe: they go into the connection URLs).
random_secret() {
  od -An -N16 -tx1 /dev/urandom | tr -d ' \n'
}

# Secret's key as text (kubectl's go-template decodes base64: no base64 -d/-D difference).
secret_key() {
  kc -n "$1" get secret "$2" -o go-template="{{index .data \"$3\" | base64decode}}"
}

ensure_namespaces_and_secrets() {
  kc create namespace "$INFRA_NAMESPACE" --dry-run=client -o yaml | kc apply -f - >/dev/null
  kc create namespace "$APP_NAMESPACE" --dry-run=client -o yaml | kc apply -f - >/dev/null
  # Every pod of the app must meet the `restricted` Pod Security Standard (the API server
  # refuses any other). With Istio, the app's pods get the sidecar (its CNI agent does the
  # redirection, so no privileged init container); the infrastructure stays out of the mesh.
  kc label namespace "$APP_NAMESPACE" --overwrite \
    pod-security.kubernetes.io/enforce=restricted pod-security.kubernetes.io/warn=restricted >/dev/null
  if [ "$PANTRY_CLUSTER" = k3d ]; then
    kc label namespace "$APP_NAMESPACE" istio-injection=enabled --overwrite >/dev/null
  fi

  if ! kc -n "$INFRA_NAMESPACE" get secret pantry-infra-credentials >/dev/null 2>&1; then
    say "creating random passwords for PostgreSQL, Redis and RabbitMQ"
    kc -n "$INFRA_NAMESPACE" create secret generic pantry-infra-credentials \
      --from-literal=postgres-password="$(random_secret)" \
      --from-literal=password="$(random_secret)" \
      --from-literal=redis-password="$(random_secret)" \
      --from-literal=rabbitmq-password="$(random_secret)" \
      --from-literal=rabbitmq-erlang-cookie="$(random_secret)" >/dev/null
  fi

  # The app's Secret: the URLs, made from those passwords (written to a private temporary
  # file, never on a command line; the EXIT trap removes it whatever happens).
  env_file="$TMP_DIR/app-secrets.env"
  (umask 077 && : >"$env_file")
  infra="$INFRA_NAMESPACE.svc.cluster.local"
  {
    echo "database-url=postgresql://pantry:$(secret_key "$INFRA_NAMESPACE" pantry-infra-credentials password)@postgresql.$infra:5432/pantry"
    echo "redis-url=redis://:$(secret_key "$INFRA_NAMESPACE" pantry-infra-credentials redis-password)@redis-master.$infra:6379/0"
    echo "rabbitmq-url=amqp://pantry:$(secret_key "$INFRA_NAMESPACE" pantry-infra-credentials rabbitmq-password)@rabbitmq.$infra:5672/"
  } >"$env_file"
  kc -n "$APP_NAMESPACE" create secret generic pantry-chef-secrets --from-env-file="$env_file" \
    --dry-run=client -o yaml | kc apply -f - >/dev/null
  rm -f "$env_file"
}

install_infra() {
  if [ "$PANTRY_CLUSTER" = kind ]; then
    # The Bitnami images cannot be pulled here: the same Services from images built here.
    ci_images
    # RabbitMQ's queues outlive its pod (as on a real cluster's volume): a folder of the first
    # worker's, which the RabbitMQ user (not root) can write.
    rabbitmq_node="$(kc get nodes -l '!node-role.kubernetes.io/control-plane' \
      -o jsonpath='{.items[0].metadata.name}')"
    [ -n "$rabbitmq_node" ] || die "the CI cluster has no worker node" "kubectl --context $CONTEXT get nodes"
    docker exec "$rabbitmq_node" install -d -m 0777 /var/local/pantry-ci/rabbitmq ||
      die "could not make RabbitMQ's folder on $rabbitmq_node"
    say "installing PostgreSQL, Redis and RabbitMQ (helm/ci, release ci-infra) in $INFRA_NAMESPACE"
    hm upgrade --install ci-infra helm/ci -n "$INFRA_NAMESPACE" --set servers.enabled=true \
      --set image.registry="$(registry_for_nodes)" --set-string image.tag="$CI_IMAGE_TAG" \
      --set-string servers.rabbitmq.persistence.node="$rabbitmq_node" \
      --wait --timeout 5m ||
      die "the CI servers did not become ready" "kubectl --context $CONTEXT -n $INFRA_NAMESPACE get pods"
    return 0
  fi
  for chart in postgresql redis rabbitmq; do
    case "$chart" in
      postgresql) version="$POSTGRESQL_CHART_VERSION" ;;
      redis) version="$REDIS_CHART_VERSION" ;;
      rabbitmq) version="$RABBITMQ_CHART_VERSION" ;;
    esac
    say "installing $chart (Bitnami chart $version) in $INFRA_NAMESPACE"
    hm upgrade --install "$chart" "$BITNAMI_CHARTS/$chart" --version "$version" \
      -n "$INFRA_NAMESPACE" -f "helm/infra/$chart.yaml" --wait --timeout 10m ||
      die "$chart did not become ready" \
        "kubectl --context $CONTEXT -n $INFRA_NAMESPACE get pods" \
        "ImagePullBackOff: the bitnamilegacy tag in helm/infra/$chart.yaml must exist for $(platform)" \
        "Pending: not enough memory in the Docker VM (docs/local-development.md)"
  done
}

# --- New Relic (optional) -------------------------------------------------------------------------
newrelic_on() {
  [ -n "${NEW_RELIC_LICENSE_KEY:-}" ]
}

# The license key into the Secret newrelic-license of a namespace: written to a private temporary
# file by printf (a shell builtin: no process shows it), never on a command line or in a values file.
newrelic_secret() {
  key_file="$TMP_DIR/newrelic-license-key"
  (umask 077 && : >"$key_file")
  printf '%s' "$NEW_RELIC_LICENSE_KEY" >"$key_file"
  if ! kc -n "$1" create secret generic "$NEWRELIC_SECRET" --from-file=license-key="$key_file" \
    --dry-run=client -o yaml | kc apply -f - >/dev/null; then
    rm -f "$key_file"
    die "could not write the Secret $NEWRELIC_SECRET in namespace $1" \
      "kubectl --context $CONTEXT get namespace $1"
  fi
  rm -f "$key_file"
}

install_newrelic() {
  if ! newrelic_on; then
    say "New Relic: off (set NEW_RELIC_LICENSE_KEY to send this cluster's data; docs/observability.md)"
    if hm status "$NEWRELIC_RELEASE" -n "$NEWRELIC_NAMESPACE" >/dev/null 2>&1; then
      warn "the release $NEWRELIC_RELEASE from an earlier run still sends data: helm --kube-context $CONTEXT uninstall $NEWRELIC_RELEASE -n $NEWRELIC_NAMESPACE"
    fi
    return 0
  fi
  kc create namespace "$NEWRELIC_NAMESPACE" --dry-run=client -o yaml | kc apply -f - >/dev/null
  newrelic_secret "$NEWRELIC_NAMESPACE"
  newrelic_secret "$APP_NAMESPACE"
  # The log shipper cannot tell the region from a key it only sees as a Secret.
  endpoint="https://log-api.newrelic.com/log/v1"
  case "$NEW_RELIC_LICENSE_KEY" in
    eu*) endpoint="https://log-api.eu.newrelic.com/log/v1" ;;
  esac
  say "installing New Relic's Kubernetes integration (nri-bundle $NRI_BUNDLE_CHART_VERSION) in $NEWRELIC_NAMESPACE, cluster ${NEW_RELIC_CLUSTER_NAME:-pantry-local}"
  hm upgrade --install "$NEWRELIC_RELEASE" nri-bundle --repo "$NEWRELIC_REPO" \
    --version "$NRI_BUNDLE_CHART_VERSION" -n "$NEWRELIC_NAMESPACE" -f helm/infra/newrelic.yaml \
    --set "global.cluster=${NEW_RELIC_CLUSTER_NAME:-pantry-local}" \
    --set "newrelic-logging.endpoint=$endpoint" --wait --timeout 10m ||
    die "nri-bundle did not become ready" \
      "kubectl --context $CONTEXT -n $NEWRELIC_NAMESPACE get pods" \
      "A wrong license key shows in: kubectl --context $CONTEXT -n $NEWRELIC_NAMESPACE logs -l app.kubernetes.io/name=newrelic-infrastructure --all-containers --tail=20" \
      "Without it: unset NEW_RELIC_LICENSE_KEY and run make dev again"
}

# A release that a killed helm left pending-install, -upgrade or -rollback: helm refuses every
# further command on it ("another operation is in progress") until it is settled by hand.
check_not_pending() {
  # No release yet: no history, nothing pending.
  last="$(hm history "$RELEASE" -n "$APP_NAMESPACE" --max 1 -o json 2>/dev/null |
    sed -n 's/.*"revision":\([0-9]*\).*"status":"\([a-z-]*\)".*/\1 \2/p' || true)"
  revision="${last%% *}"
  state="${last#* }"
  case "$state" in
    pending-install)
      die "the release $RELEASE is pending-install: an earlier 'helm install' was stopped before it finished (killed, or the machine slept), and helm refuses to go on with it" \
        "Remove the unfinished release, then run this again:" \
        "  $HELM --kube-context $CONTEXT uninstall $RELEASE -n $APP_NAMESPACE" ;;
    pending-upgrade | pending-rollback)
      good="$(hm history "$RELEASE" -n "$APP_NAMESPACE" -o json 2>/dev/null |
        tr '}' '\n' | grep -E '"status":"(deployed|superseded)"' |
        sed -n 's/.*"revision":\([0-9]*\).*/\1/p' | tail -n 1 || true)"
      die "the release $RELEASE is $state at revision $revision: an earlier helm command was stopped before it finished (killed, or the machine slept), and helm refuses to go on with it" \
        "Roll back to the last revision that was deployed, then run this again:" \
        "  $HELM --kube-context $CONTEXT rollback $RELEASE ${good:-<revision>} -n $APP_NAMESPACE" \
        "(helm --kube-context $CONTEXT history $RELEASE -n $APP_NAMESPACE lists the revisions)" ;;
  esac
}

# The values of this cluster: local.yaml, and on the CI cluster ci.yaml over it.
values_args() {
  printf '%s\n' -f helm/values/local.yaml
  if [ "$PANTRY_CLUSTER" = kind ]; then printf '%s\n' -f helm/values/ci.yaml; fi
  if [ "${DEV_RELOAD:-0}" = 1 ]; then printf '%s\n' -f helm/values/dev.yaml; fi
}

# What a failed install left: its pods and Jobs, the namespace's latest events, and the logs of
# the hook Jobs' pods (a failed hook Job stays for this; the next install replaces it).
release_diagnosis() {
  echo "Pods and Jobs:"
  kc -n "$APP_NAMESPACE" get pods,jobs -o wide 2>&1 | sed 's/^/  /'
  echo "Latest events:"
  kc -n "$APP_NAMESPACE" get events --sort-by=.lastTimestamp 2>&1 | tail -n 15 | sed 's/^/  /'
  for pod in $(kc -n "$APP_NAMESPACE" get pods -l "app.kubernetes.io/instance=$RELEASE,job-name" -o name 2>/dev/null); do
    echo "Logs of $pod:"
    kc -n "$APP_NAMESPACE" logs "$pod" --all-containers --tail 30 2>&1 | sed 's/^/  /'
  done
}

install_app() {
  tag="$1"
  newrelic_enabled=false
  if newrelic_on; then newrelic_enabled=true; fi
  registry="$(registry_for_nodes)"
  check_not_pending
  # The chart from its folder; or, with PANTRY_CHART_PACKAGE and PANTRY_CHART_KEYRING (the CI
  # cluster: scripts/cluster.sh signs one), a signed package that helm verifies on install.
  chart="helm/pantry-chef"
  set --
  if [ -n "${PANTRY_CHART_PACKAGE:-}${PANTRY_CHART_KEYRING:-}" ]; then
    if [ ! -s "${PANTRY_CHART_PACKAGE:-}" ] || [ ! -s "${PANTRY_CHART_PACKAGE:-}.prov" ] ||
      [ ! -s "${PANTRY_CHART_KEYRING:-}" ]; then
      die "PANTRY_CHART_PACKAGE and PANTRY_CHART_KEYRING go together: a packaged chart with its .prov beside it, and the public keyring of its signer" \
        "PANTRY_CHART_PACKAGE=${PANTRY_CHART_PACKAGE:-}" "PANTRY_CHART_KEYRING=${PANTRY_CHART_KEYRING:-}"
    fi
    chart="$PANTRY_CHART_PACKAGE"
    set -- --verify --keyring "$PANTRY_CHART_KEYRING"
    say "installing the signed package $(basename "$chart"), verified against $PANTRY_CHART_KEYRING"
  fi
  say "installing $RELEASE ($registry/pantry-chef/*:$tag) in $APP_NAMESPACE"
  "$HELM" dependency build helm/pantry-chef --skip-refresh >/dev/null
  # --set-string: a revision of digits only (1234567) would otherwise become a number, which
  # the chart's schema refuses as a tag. --atomic: a release that does not become ready is
  # rolled back, and the previous revision keeps serving.
  # shellcheck disable=SC2046 # values_args prints one word a line
  hm upgrade --install "$RELEASE" "$chart" "$@" -n "$APP_NAMESPACE" $(values_args) \
    --set-string "image.registry=$registry" --set-string "image.tag=$tag" \
    --set "newRelic.enabled=$newrelic_enabled" \
    --wait --atomic --timeout 10m ||
    die "the release $RELEASE did not become ready (helm rolled it back)" "$(release_diagnosis)" \
      "More: kubectl --context $CONTEXT -n $APP_NAMESPACE describe pod -l app.kubernetes.io/instance=$RELEASE"
  say "helm test $RELEASE"
  hm test "$RELEASE" -n "$APP_NAMESPACE" --timeout 5m --logs ||
    die "helm test failed: a health or readiness endpoint does not answer" \
      "kubectl --context $CONTEXT -n $APP_NAMESPACE logs $RELEASE-test-health -c health"
}

# --- smoke check through the ingress -----------------------------------------------------------------
ingress_diagnosis() {
  echo "Checks, most likely first:"
  echo "- The Gateway's selector must match the gateway pods' labels (istio: ingress):"
  printf '    Gateway selector: %s\n' "$(kc -n "$APP_NAMESPACE" get gateways.networking.istio.io "$RELEASE" -o jsonpath='{.spec.selector}' 2>/dev/null || echo 'no Gateway')"
  printf '    gateway pods:     %s\n' "$(kc -n istio-ingress get pods -o jsonpath='{range .items[*]}{.metadata.labels.istio}{" "}{.status.phase}{"; "}{end}' 2>/dev/null || echo 'none')"
  echo "- Every app pod needs its sidecar (2/2 READY): the namespace needs istio-injection=enabled:"
  kc -n "$APP_NAMESPACE" get pods -l "app.kubernetes.io/instance=$RELEASE" 2>/dev/null | sed 's/^/    /'
  printf '    namespace label: istio-injection=%s\n' "$(kc get namespace "$APP_NAMESPACE" -o jsonpath='{.metadata.labels.istio-injection}' 2>/dev/null)"
  echo "- Service ports must be named http (or http-*): $(kc -n "$APP_NAMESPACE" get svc -o jsonpath='{range .items[*]}{.metadata.name}={.spec.ports[0].name} {end}' 2>/dev/null)"
  echo "- The VirtualService must name the Gateway and the host: $(kc -n "$APP_NAMESPACE" get virtualservices.networking.istio.io "$RELEASE" -o jsonpath='{.spec.gateways} {.spec.hosts}' 2>/dev/null || echo 'no VirtualService')"
  echo "- k3d's load balancer must map 8080->80: $(docker port "k3d-$CLUSTER-serverlb" 2>/dev/null | tr '\n' ' ')"
  echo "- The gateway's LoadBalancer Service needs an address: $(kc -n istio-ingress get svc istio-ingress -o jsonpath='{.status.loadBalancer.ingress[*].ip}' 2>/dev/null)"
  echo "See docs/local-development.md, 'Requests through the ingress hang'."
}

smoke() {
  say "smoke check through the ingress at $INGRESS_URL"
  body="$TMP_DIR/body"
  headers="$TMP_DIR/headers"

  code=0
  status="$(curl -sS -o "$body" -w '%{http_code}' --max-time 10 "$INGRESS_URL/api/v1/health")" || code=$?
  if [ "$code" -ne 0 ] || [ "$status" != 200 ]; then
    case "$code" in
      7) cause="connection refused on $INGRESS_URL: the cluster is stopped, or k3d's load balancer does not map 8080:80 (k3d/cluster.yaml)" ;;
      52 | 56) cause="the connection closed without an answer: nothing listens on port 80 in the cluster (no Gateway selects the gateway pods, ServiceLB could not take port 80 because Traefik is not disabled, or the gateway pod is not ready)" ;;
      28) cause="no answer within 10 s: the load balancer reaches no gateway pod (ServiceLB pods pending, gateway pod not running), or the route goes nowhere" ;;
      *)
        case "$status" in
          404) cause="HTTP 404 from the gateway: no route matches (the VirtualService's hosts or gateways do not name this Gateway)" ;;
          503) cause="HTTP 503: no ready api pod behind the route (pods not ready, a pod without its sidecar under STRICT mTLS, a Service port not named http)" ;;
          *) cause="HTTP $status (curl exit $code)" ;;
        esac
        ;;
    esac
    die "GET /api/v1/health through the ingress failed: $cause" "$(ingress_diagnosis)"
  fi
  echo "  GET /api/v1/health -> 200"

  # A query of its own on every run: a search never refreshed before asks the engine for more,
  # so the realtime service knows it and /events streams (a known, refreshed search may not).
  query="chicken+curry+smoke$(date +%s)"
  status="$(curl -sS -o "$body" -w '%{http_code}' --max-time 20 \
    "$INGRESS_URL/api/v1/recipes/search?q=$query&limit=2")" ||
    die "the search through the ingress did not answer" "$(ingress_diagnosis)"
  [ "$status" = 200 ] || die "the search through the ingress answered HTTP $status" "$(head -c 400 "$body")"
  search_id="$(sed -n 's/.*"search_id"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$body" | head -n 1)"
  search_status="$(sed -n 's/.*"status"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$body" | head -n 1)"
  [ -n "$search_id" ] || die "the search's answer has no search_id" "$(head -c 400 "$body")"
  echo "  GET /api/v1/recipes/search?q=$query -> 200, search_id $search_id, status $search_status"

  # A stream: curl stops after 5 s (exit 28 is expected); the status and the first bytes count.
  code=0
  curl -sS -N --max-time 5 -H 'Accept: text/event-stream' -D "$headers" -o "$body" \
    "$INGRESS_URL/events?search_id=$search_id" 2>/dev/null || code=$?
  status_line="$(head -n 1 "$headers" | tr -d '\r')"
  case "$status_line" in
    *" 200"*) ;;
    "") die "GET /events sent no response headers within 5 s (curl exit $code)" \
      "A stream must get its headers at once: a route timeout or buffering in front of realtime," \
      "or the realtime pod is not ready." "$(ingress_diagnosis)" ;;
    *" 404"*) die "GET /events answered '$status_line': the route reaches realtime, but it does not know the search" \
      "The api did not start a refresh (search status: $search_status): is RabbitMQ reachable, did the migrations run?" \
      "kubectl --context $CONTEXT -n $APP_NAMESPACE logs deploy/$RELEASE-api -c api | tail" "$(head -c 400 "$body")" ;;
    *) die "GET /events answered '$status_line'" "$(head -c 400 "$body")" ;;
  esac
  grep -qi '^content-type: text/event-stream' "$headers" ||
    die "GET /events is not an event stream" "$(cat "$headers")"
  [ -s "$body" ] ||
    die "GET /events sent no bytes within 5 s: something buffers the stream" \
      "(the realtime service sends its first bytes, retry: or a heartbeat, at once)" "$(ingress_diagnosis)"
  echo "  GET /events?search_id=$search_id -> 200 text/event-stream, first bytes:"
  head -c 200 "$body" | sed 's/^/    /'
  echo
  say "Pantry Chef is up: $INGRESS_URL  (API docs: $INGRESS_URL/api/docs)"
}

# --- the inner loop ------------------------------------------------------------------------------
# A service by the name a developer types: api, engine (or recipe-engine), realtime.
service_name() {
  case "${1:-}" in
    api) echo api ;;
    engine | recipe-engine) echo recipe-engine ;;
    realtime) echo realtime ;;
    *) die "SERVICE must be api, engine or realtime, not '${1:-}'" "make dev-logs SERVICE=api" ;;
  esac
}

deployment_of() { echo "$RELEASE-$1"; }

# The name of one node's container (the nodes are Docker containers on both cluster tools).
a_node() {
  if [ "$PANTRY_CLUSTER" = kind ]; then echo "$CLUSTER-control-plane"; else echo "k3d-$CLUSTER-server-0"; fi
}

# The nodes must have this checkout at /src: a k3d cluster made before the mount existed, or
# made from another checkout, has none or another one (the node containers' bind mount says).
check_source_mount() {
  node="$(a_node)"
  mounted="$(docker inspect "$node" \
    --format '{{range .Mounts}}{{if eq .Destination "/src"}}{{.Source}}{{end}}{{end}}' 2>/dev/null || true)"
  if [ "$mounted" != "$(pwd -P)" ]; then
    if [ "$PANTRY_CLUSTER" = kind ]; then
      recreate="make cluster-down && make cluster-up"
    else
      recreate="make dev-down && make dev-watch  (the cluster's data goes with it)"
    fi
    die "the cluster's nodes do not have this checkout at /src (they have: ${mounted:-nothing})" \
      "The cluster was created before the source mount, or from another checkout. Recreate it:" \
      "  $recreate"
  fi
}

# Which services a changed dependency file concerns.
services_of_manifest() {
  case "$1" in
    services/api/*) echo api ;;
    services/recipe-engine/*) echo recipe-engine ;;
    services/realtime/*) echo realtime ;;
    *) echo "$SERVICES" ;;
  esac
}

manifests() {
  printf '%s\n' pyproject.toml uv.lock libs/pantry_common/pyproject.toml
  for service in $SERVICES; do printf '%s\n' "services/$service/pyproject.toml"; done
}

manifest_state() {
  manifests | while IFS= read -r file; do
    printf '%s %s\n' "$file" "$(git hash-object "$file" 2>/dev/null || echo missing)"
  done
}

# make dev-image: one service's image rebuilt (its dependencies changed), pushed, and rolled out
# on its Deployment alone; no helm upgrade (the next make dev or dev-watch sets the tag again).
dev_image() {
  service="$(service_name "$1")"
  started="$(date +%s)"
  tag="$(image_tag)"
  build_images "$tag" "$service"
  push_images "$tag" "$service"
  image="$(registry_for_nodes)/pantry-chef/$service:$tag"
  deployment="$(deployment_of "$service")"
  kc -n "$APP_NAMESPACE" set image "deployment/$deployment" "$service=$image" >/dev/null
  kc -n "$APP_NAMESPACE" rollout status "deployment/$deployment" --timeout 5m ||
    die "the new image of $service did not roll out" "$(release_diagnosis)"
  say "$service runs $image ($(($(date +%s) - started)) s from build to rolled out)"
}

# make dev-watch: the app with the dev overlay (each service from /src, reloading on save), then
# a watch on the dependency files. Ctrl-C ends the watch; the pods keep reloading until the next
# make dev puts the normal values back.
watch() {
  DEV_RELOAD=1
  up
  say "the pods run the code under /src: a saved .py file is served in seconds, with no image and no helm"
  say "make dev-logs SERVICE=api follows a service; make dev goes back to the normal values"
  [ "${DEV_WATCH_ONCE:-0}" = 1 ] && return 0
  watch_deps
}

# The dependency files: a change to one needs a new image (the pods' packages are the image's).
watch_deps() {
  say "watching pyproject.toml and uv.lock files (a change needs a new image: it is built); Ctrl-C stops"
  state="$(manifest_state)"
  while sleep 2; do
    now="$(manifest_state)"
    [ "$now" = "$state" ] && continue
    changed="$(printf '%s\n%s\n' "$state" "$now" | sort | uniq -u | cut -d' ' -f1 | sort -u)"
    state="$now"
    targets=""
    for file in $changed; do targets="$targets $(services_of_manifest "$file")"; done
    # shellcheck disable=SC2086 # one word a name: split on purpose
    targets="$(printf '%s\n' $targets | sort -u | tr '\n' ' ')"
    # shellcheck disable=SC2086
    say "changed: $(printf '%s ' $changed)-> a new image is needed for: $targets"
    for service in $targets; do
      # A subshell: a failed build says why and the watch goes on.
      (dev_image "$service") || warn "the image of $service was not rebuilt; fix it and save again"
    done
  done
}

dev_logs() {
  service="$(service_name "$1")"
  say "following $service's logs on every pod (Ctrl-C stops)"
  kc -n "$APP_NAMESPACE" logs -f --prefix --max-log-requests 20 --tail 20 -c "$service" \
    -l "app.kubernetes.io/instance=$RELEASE,app.kubernetes.io/component=$service"
}

# The runtime images are Debian's slim Python, which has /bin/sh: a shell by exec, as the app's
# own user, in the app's container (read-only root, /tmp writable).
dev_shell() {
  service="$(service_name "$1")"
  say "a shell in $service (exit leaves it)"
  kc -n "$APP_NAMESPACE" exec -it "deployment/$(deployment_of "$service")" -c "$service" -- sh
}

dev_scale() {
  service="$(service_name "$1")"
  replicas="${2:-}"
  case "$replicas" in
    '' | *[!0-9]*) die "N must be a number of replicas" "make dev-scale SERVICE=engine N=3" ;;
  esac
  deployment="$(deployment_of "$service")"
  kc -n "$APP_NAMESPACE" scale "deployment/$deployment" --replicas "$replicas" >/dev/null
  kc -n "$APP_NAMESPACE" rollout status "deployment/$deployment" --timeout 5m ||
    die "$deployment did not reach $replicas ready replicas" "$(release_diagnosis)"
  say "$deployment: $replicas replicas (until the next make dev or dev-watch), on the nodes:"
  kc -n "$APP_NAMESPACE" get pods -l "app.kubernetes.io/instance=$RELEASE,app.kubernetes.io/component=$service" \
    -o custom-columns=POD:.metadata.name,NODE:.spec.nodeName,READY:.status.containerStatuses[0].ready
}

# --- commands -------------------------------------------------------------------------------------
up() {
  check_tools
  ensure_cluster
  if [ "${DEV_RELOAD:-0}" = 1 ]; then check_source_mount; fi
  install_istio
  ensure_namespaces_and_secrets
  tag="$(image_tag)"
  build_images "$tag"
  push_images "$tag"
  install_infra
  install_newrelic
  install_app "$tag"
  smoke
}

status() {
  if [ "$PANTRY_CLUSTER" = kind ]; then
    kind get clusters 2>/dev/null | grep -qx "$CLUSTER" || {
      echo "No kind cluster $CLUSTER: make cluster-up"
      return 0
    }
  else
    command -v k3d >/dev/null 2>&1 && k3d cluster list
    k3d cluster get "$CLUSTER" >/dev/null 2>&1 || {
      echo "No cluster $CLUSTER: make dev"
      return 0
    }
  fi
  hm list -A
  for namespace in istio-system istio-ingress "$INFRA_NAMESPACE" "$APP_NAMESPACE" "$NEWRELIC_NAMESPACE"; do
    echo
    echo "# $namespace"
    kc -n "$namespace" get pods -o wide 2>/dev/null || true
  done
  echo
  echo "Ingress: $INGRESS_URL   (make forward: api on :8000, realtime on :8001)"
}

forward() {
  say "port-forwarding api to localhost:8000 and realtime to localhost:8001 (Ctrl-C stops)"
  kc -n "$APP_NAMESPACE" port-forward "svc/$RELEASE-api" 8000:8000 &
  api_pid=$!
  kc -n "$APP_NAMESPACE" port-forward "svc/$RELEASE-realtime" 8001:8001 &
  realtime_pid=$!
  trap 'kill "$api_pid" "$realtime_pid" 2>/dev/null || true; rm -rf "$TMP_DIR"' EXIT INT TERM
  wait "$api_pid" "$realtime_pid"
}

down() {
  if k3d cluster get "$CLUSTER" >/dev/null 2>&1; then
    say "deleting the k3d cluster $CLUSTER (its volumes go with it)"
    k3d cluster delete "$CLUSTER"
  else
    say "no cluster $CLUSTER"
  fi
  k3d registry delete pantry-registry.localhost >/dev/null 2>&1 || true
}

case "${1:-up}" in
  up) up ;;
  images)
    command -v docker >/dev/null 2>&1 || die "docker is missing" "brew install --cask docker  (or colima)"
    tag="$(image_tag)"
    build_images "$tag"
    say "built pantry-chef/{api,recipe-engine,realtime}:$tag"
    ;;
  smoke) smoke ;;
  app)
    check_tools
    ensure_cluster
    ensure_namespaces_and_secrets
    tag="$(image_tag)"
    build_images "$tag"
    push_images "$tag"
    install_app "$tag"
    smoke
    ;;
  status) status ;;
  forward) forward ;;
  down) down ;;
  watch) watch ;;
  watch-deps) watch_deps ;;
  image) dev_image "${2:-}" ;;
  logs) dev_logs "${2:-}" ;;
  shell) dev_shell "${2:-}" ;;
  scale) dev_scale "${2:-}" "${3:-}" ;;
  *) die "unknown command ${1}" "usage: scripts/dev.sh [up|images|smoke|app|status|forward|down|watch|watch-deps|image|logs|shell|scale]" ;;
esac
