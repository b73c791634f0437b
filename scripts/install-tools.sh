#!/usr/bin/env bash
# Installs the pinned tools that `make chart-test` needs into the project's own .tools/ folder:
#
#   .tools/bin/helm                      helm, built with `go install` at a pinned version
#                                        (or Homebrew's helm on a Mac without Go)
#   .tools/istio/crds-<version>.yaml     Istio's CRDs (their OpenAPI schemas), read from the
#                                        Go module istio.io/api at the version `make dev` installs
#   .tools/prometheus-operator/prometheusrules-<version>.yaml
#                                        the PrometheusRule CRD, read from the Go module
#                                        github.com/prometheus-operator/prometheus-operator
#   .tools/k3d/config-v1alpha5.schema.json
#                                        the JSON schema of k3d/cluster.yaml, from the Go module
#                                        github.com/k3d-io/k3d/v5 (or its release's file without
#                                        Go), checked against a pinned SHA-256
#   .tools/config-connector/<version>/*.yaml
#                                        Config Connector's CRDs of the kinds helm/gcp uses, from
#                                        its release's config/crds/resources/ (or the copy in
#                                        ../shared/schemas/config-connector where there is one),
#                                        each checked against a pinned SHA-256
#   .tools/bin/promtool                  Prometheus' promtool (`check rules` of the chart's
#                                        PrometheusRule), built with Go at a pinned version;
#                                        skipped without Go (the PromQL is still parsed)
#   .tools/bin/actionlint                actionlint, the linter of .github/workflows (make
#                                        workflow-lint; it runs shellcheck on the run: blocks)
#   .tools/bin/registry                  the CNCF Distribution registry (the Go module
#                                        kind/tools builds it for the CI cluster too): the OCI
#                                        registry the release tests push to and pull from
#   .tools/bin/ct, .tools/ct/*.yaml      chart-testing (`ct lint`, make chart-lint), built with
#                                        Go at a pinned version, and the YAML lint
#                                        rules and Chart.yaml schema of that version (its etc/,
#                                        which ct's own image ships in /etc/ct); ct.yaml names them
#   .tools/flux/<module>-<version>/*.yaml
#                                        Flux's CRDs of the kinds deploy/ uses (OCIRepository,
#                                        HelmRelease), from config/crd/bases/ of the Go modules
#                                        of source-controller and helm-controller (the module
#                                        cache, or the module's zip from the Go module proxy
#                                        without Go), each checked against a pinned SHA-256
#   .tools/bin/kustomize                 kustomize, built with `go install` at a pinned version:
#                                        the chart tests build deploy/<env> as Flux does
#
# Safe to run again: what is already there at the pinned version is kept. Works with bash 3.2
# (macOS) and BSD tools. The Python tools (kubernetes-validate, jsonschema, cel-python, and ct's
# yamllint and yamale) are pinned in the workspace's dev dependency group and come with `uv sync`.
set -euo pipefail
cd "$(dirname "$0")/.."

# Pinned versions. ISTIO_VERSION must equal ISTIO_VERSION in scripts/dev.sh (a test checks it).
HELM_VERSION="v3.22.0"
HELM_K8S_MINOR="37" # the Kubernetes minor of helm's client-go: helm's default for --kube-version
ISTIO_VERSION="1.31.4"
# The PrometheusRule CRD the chart tests validate against, and the promtool that checks the rules:
# Go module versions (github.com/prometheus/prometheus v0.305.0 is Prometheus 3.5, an LTS).
PROMETHEUS_OPERATOR_VERSION="v0.85.0"
PROMETHEUS_MODULE_VERSION="v0.305.0"
PROMETHEUS_VERSION="3.5.0"
# The k3d whose config schema (k3d.io/v1alpha5) the chart tests validate k3d/cluster.yaml with.
K3D_SCHEMA_VERSION="v5.9.0"
K3D_SCHEMA_SHA256="fb1d8573831a3d160f135bb6a813c7bbea837d0901dcee58c209c22be4e8e6d8"
# Config Connector's CRDs (their OpenAPI schemas), the helm/gcp tests validate against: release
# v1.155.0 (that commit), config/crds/resources/apiextensions.k8s.io_v1_customresourcedefinition_<file>.
CONFIG_CONNECTOR_VERSION="v1.155.0"
CONFIG_CONNECTOR_COMMIT="cdb85ecf17085561b9f4abc75a95107cb01446d9"
# One "<sha256> <file>" line per CRD.
CONFIG_CONNECTOR_CRDS="
100fb9afb9352795e5bbcb64262617a19ae813a09e96139a575a0964db8bbd29 artifactregistryrepositories.artifactregistry.cnrm.cloud.google.com.yaml
ce3c11916f48a033c6aafa0713bf555dc9f06cd0d2a37472a6d188fbc5b758a0 computeaddresses.compute.cnrm.cloud.google.com.yaml
324e3c2c40234b55f2b835f27d4ff07658d0be562defc470527146240b4015cf computenetworks.compute.cnrm.cloud.google.com.yaml
2067498fda9babb29ad1459c4678f8e84b70620f890e47375410c0698a12593e computesubnetworks.compute.cnrm.cloud.google.com.yaml
c73bf166eb0810a89292e0f1fad24a6b71c2d54b5ac411d9e41c73dbbf24b63a containerclusters.container.cnrm.cloud.google.com.yaml
836347b8d532d98515f7e6929c37f7488d5bb5c91757b61e15246a839beb69ab containernodepools.container.cnrm.cloud.google.com.yaml
5ea0bb77cd72c573e240d0b42314407a43e559532da466c64e67ea4290650d2e iampartialpolicies.iam.cnrm.cloud.google.com.yaml
3857b636b797d04c66d5b8e3ab638ec0671a6c784a2dc4c96817a58573195d29 iampolicymembers.iam.cnrm.cloud.google.com.yaml
6f6bc2a8529bd4614ac6e119ee2c5ed5b4040cf54bc37ff5fc00eb6042be7f44 iamserviceaccounts.iam.cnrm.cloud.google.com.yaml
e20be18d86d42ea5b9b0edb3acfa0c3a9a41f5427fdd169fb74e102cacad767b redisinstances.redis.cnrm.cloud.google.com.yaml
ac14433c61ba69cfa66cf928b8097affa15b00136fba6005355720817ab52140 secretmanagersecrets.secretmanager.cnrm.cloud.google.com.yaml
e45c8401ef62433c2bb7375ed3bbd8573bb1cbfe0f9fb02df00486a654f043db secretmanagersecretversions.secretmanager.cnrm.cloud.google.com.yaml
90eaeff75239669fbb9a430baea53d35da26d722aaabf357e0c1a8fcc77fca13 servicenetworkingconnections.servicenetworking.cnrm.cloud.google.com.yaml
2cd87be82b5b1fc0d1b934874d4495a014f602a4b1a92b2974349c6871e81dea sqldatabases.sql.cnrm.cloud.google.com.yaml
f7b5d214cb4af17b531f498ae081058da3ca226f74ebdcd9678fd1acf2fbbe2f sqlinstances.sql.cnrm.cloud.google.com.yaml
f9cfa9d6c4dfdb0bd6bbde30692eb5b7e5a83a94c2a3ce879914235bdca25eb3 sqlusers.sql.cnrm.cloud.google.com.yaml
"
# The linter of the GitHub Actions workflows (a Go module version).
ACTIONLINT_VERSION="v1.7.12"
# github.com/distribution/distribution/v3 as kind/tools/go.mod requires it (a test checks).
REGISTRY_VERSION="v3.0.0"
# chart-testing, github.com/helm/chart-testing/v3 (a Go module version).
CHART_TESTING_VERSION="v3.14.0"
# Flux: the Go module versions of the source-controller and helm-controller whose CRDs (API
# versions source.toolkit.fluxcd.io/v1 and helm.toolkit.fluxcd.io/v2) the objects under deploy/
# are validated against. One "<sha256> <module> <file of config/crd/bases/>" line per CRD.
FLUX_SOURCE_CONTROLLER_VERSION="v1.9.6"
FLUX_HELM_CONTROLLER_VERSION="v1.6.4"
FLUX_CRDS="
80c7c6e5c8de0764cc83acd4de5c74bea8e51186085304d22cecc5f2eb35500e source-controller source.toolkit.fluxcd.io_ocirepositories.yaml
aa8638ac68465ceac1f93a617baf5be833c589c51fd78a7384a4a274c252becc helm-controller helm.toolkit.fluxcd.io_helmreleases.yaml
"
# kustomize, sigs.k8s.io/kustomize/kustomize/v5 (a Go module version): what builds deploy/<env>.
KUSTOMIZE_VERSION="v5.8.2"

TOOLS_DIR="$PWD/.tools"
BIN_DIR="$TOOLS_DIR/bin"
mkdir -p "$BIN_DIR" "$TOOLS_DIR/istio" "$TOOLS_DIR/prometheus-operator" "$TOOLS_DIR/k3d"

say() { printf '==> %s\n' "$*"; }
die() { printf 'install-tools: %s\n' "$*" >&2; exit 1; }

# --- helm ---------------------------------------------------------------------------------------
helm_stamp="$BIN_DIR/.helm-$HELM_VERSION"
if [ -x "$BIN_DIR/helm" ] && [ -f "$helm_stamp" ]; then
  say "helm $HELM_VERSION already in .tools/bin"
elif command -v go >/dev/null 2>&1; then
  say "building helm $HELM_VERSION with go install (a few minutes the first time)"
  rm -f "$BIN_DIR"/.helm-*
  ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    ldflags="$ldflags -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$HELM_K8S_MINOR"
  done
  GOBIN="$BIN_DIR" CGO_ENABLED=0 go install -ldflags "$ldflags" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  touch "$helm_stamp"
elif command -v helm >/dev/null 2>&1; then
  # A Mac without Go: use Homebrew's helm (3.19 or newer; helm 4 renders these charts too).
  have="$(helm version --template '{{.Version}}' 2>/dev/null || echo unknown)"
  case "$have" in
    v3.19.* | v3.[2-9][0-9].* | v4.*) ;;
    *) die "helm $have is too old or unknown: 'brew upgrade helm' (3.19 or newer), or install Go" ;;
  esac
  say "using $(command -v helm) ($have)"
  ln -sf "$(command -v helm)" "$BIN_DIR/helm"
else
  die "neither Go nor helm found: 'brew install go' (or 'brew install helm'), or apt-get install golang"
fi
"$BIN_DIR/helm" version --short

# --- Istio CRD schemas --------------------------------------------------------------------------
crds="$TOOLS_DIR/istio/crds-$ISTIO_VERSION.yaml"
if [ -s "$crds" ]; then
  say "Istio $ISTIO_VERSION CRDs already in .tools/istio"
else
  command -v go >/dev/null 2>&1 || die "Go is needed to fetch istio.io/api: 'brew install go'"
  say "fetching the Go module istio.io/api@v$ISTIO_VERSION for its CRDs"
  # `go mod download -json` prints the module's folder in the module cache as "Dir".
  dir="$(go mod download -json "istio.io/api@v$ISTIO_VERSION" |
    sed -n 's/^[[:space:]]*"Dir":[[:space:]]*"\(.*\)",\{0,1\}$/\1/p')"
  if [ -z "$dir" ] || [ ! -f "$dir/kubernetes/customresourcedefinitions.gen.yaml" ]; then
    die "istio.io/api@v$ISTIO_VERSION has no kubernetes/customresourcedefinitions.gen.yaml"
  fi
  cp "$dir/kubernetes/customresourcedefinitions.gen.yaml" "$crds.tmp"
  chmod u+w "$crds.tmp" # files in the module cache are read-only
  mv "$crds.tmp" "$crds"
fi

# --- the PrometheusRule CRD --------------------------------------------------------------------
# The folder of a module in Go's module cache, from `go mod download -json` ("Dir").
module_dir() {
  go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir":[[:space:]]*"\(.*\)",\{0,1\}$/\1/p'
}

rules_crd="$TOOLS_DIR/prometheus-operator/prometheusrules-$PROMETHEUS_OPERATOR_VERSION.yaml"
if [ -s "$rules_crd" ]; then
  say "PrometheusRule CRD $PROMETHEUS_OPERATOR_VERSION already in .tools/prometheus-operator"
else
  command -v go >/dev/null 2>&1 || die "Go is needed to fetch the prometheus-operator CRDs: 'brew install go'"
  say "fetching the Go module github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION for its PrometheusRule CRD"
  dir="$(module_dir "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION")"
  file="$dir/example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml"
  if [ -z "$dir" ] || [ ! -f "$file" ]; then
    die "prometheus-operator@$PROMETHEUS_OPERATOR_VERSION has no example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml"
  fi
  cp "$file" "$rules_crd.tmp"
  chmod u+w "$rules_crd.tmp"
  mv "$rules_crd.tmp" "$rules_crd"
fi

# --- promtool -----------------------------------------------------------------------------------
promtool_stamp="$BIN_DIR/.promtool-$PROMETHEUS_MODULE_VERSION"
if [ -x "$BIN_DIR/promtool" ] && [ -f "$promtool_stamp" ]; then
  say "promtool $PROMETHEUS_VERSION already in .tools/bin"
elif command -v go >/dev/null 2>&1; then
  # `go install ...@version` refuses this module (its go.mod has a replace directive): build it
  # inside its folder in the module cache instead, with that go.mod.
  say "building promtool $PROMETHEUS_VERSION with Go (a few minutes the first time)"
  rm -f "$BIN_DIR"/.promtool-*
  dir="$(module_dir "github.com/prometheus/prometheus@$PROMETHEUS_MODULE_VERSION")"
  if [ -z "$dir" ] || [ ! -d "$dir/cmd/promtool" ]; then
    die "github.com/prometheus/prometheus@$PROMETHEUS_MODULE_VERSION has no cmd/promtool"
  fi
  (cd "$dir" && CGO_ENABLED=0 go build -mod=readonly \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=$PROMETHEUS_VERSION" \
    -o "$BIN_DIR/promtool" ./cmd/promtool)
  touch "$promtool_stamp"
else
  say "no Go: promtool skipped (the chart tests still parse the PromQL)"
fi

# --- k3d's config schema -----------------------------------------------------------------------
sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1"; else shasum -a 256 "$1"; fi | cut -d' ' -f1
}
k3d_schema="$TOOLS_DIR/k3d/config-v1alpha5.schema.json"
if [ -s "$k3d_schema" ] && [ "$(sha256 "$k3d_schema")" = "$K3D_SCHEMA_SHA256" ]; then
  say "k3d $K3D_SCHEMA_VERSION config schema already in .tools/k3d"
else
  if command -v go >/dev/null 2>&1; then
    say "fetching k3d $K3D_SCHEMA_VERSION's config schema (Go module github.com/k3d-io/k3d/v5)"
    dir="$(module_dir "github.com/k3d-io/k3d/v5@$K3D_SCHEMA_VERSION")"
    cp "$dir/pkg/config/v1alpha5/schema.json" "$k3d_schema.tmp"
  else
    say "fetching k3d $K3D_SCHEMA_VERSION's config schema (its release's file)"
    curl -fsSL -o "$k3d_schema.tmp" \
      "https://raw.githubusercontent.com/k3d-io/k3d/$K3D_SCHEMA_VERSION/pkg/config/v1alpha5/schema.json"
  fi
  chmod u+w "$k3d_schema.tmp"
  got="$(sha256 "$k3d_schema.tmp")"
  [ "$got" = "$K3D_SCHEMA_SHA256" ] ||
    die "k3d's schema has SHA-256 $got, not the pinned $K3D_SCHEMA_SHA256"
  mv "$k3d_schema.tmp" "$k3d_schema"
fi

# --- Config Connector's CRDs ---------------------------------------------------------------------
kcc_dir="$TOOLS_DIR/config-connector/$CONFIG_CONNECTOR_VERSION"
kcc_shared="../shared/schemas/config-connector"
kcc_url="https://raw.githubusercontent.com/GoogleCloudPlatform/k8s-config-connector/$CONFIG_CONNECTOR_COMMIT/config/crds/resources/apiextensions.k8s.io_v1_customresourcedefinition_"
mkdir -p "$kcc_dir"
kcc_fetched=0
while read -r want file; do
  [ -n "$file" ] || continue
  dest="$kcc_dir/$file"
  if [ -s "$dest" ] && [ "$(sha256 "$dest")" = "$want" ]; then
    continue
  fi
  if [ -f "$kcc_shared/$file" ]; then
    cp "$kcc_shared/$file" "$dest.tmp"
  else
    curl -fsSL -o "$dest.tmp" "$kcc_url$file" || die "could not download $kcc_url$file"
  fi
  chmod u+w "$dest.tmp"
  got="$(sha256 "$dest.tmp")"
  if [ "$got" != "$want" ]; then
    rm -f "$dest.tmp"
    die "Config Connector's $file has SHA-256 $got, not the pinned $want"
  fi
  mv "$dest.tmp" "$dest"
  kcc_fetched=$((kcc_fetched + 1))
done <<EOF_CRDS
$CONFIG_CONNECTOR_CRDS
EOF_CRDS
if [ "$kcc_fetched" = 0 ]; then
  say "Config Connector $CONFIG_CONNECTOR_VERSION CRDs already in .tools/config-connector"
else
  say "Config Connector $CONFIG_CONNECTOR_VERSION: $kcc_fetched CRDs checked into .tools/config-connector"
fi

# --- actionlint ---------------------------------------------------------------------------------
actionlint_stamp="$BIN_DIR/.actionlint-$ACTIONLINT_VERSION"
if [ -x "$BIN_DIR/actionlint" ] && [ -f "$actionlint_stamp" ]; then
  say "actionlint $ACTIONLINT_VERSION already in .tools/bin"
else
  command -v go >/dev/null 2>&1 || die "Go is needed to build actionlint: 'brew install go'"
  say "building actionlint $ACTIONLINT_VERSION with go install"
  rm -f "$BIN_DIR"/.actionlint-*
  GOBIN="$BIN_DIR" CGO_ENABLED=0 go install \
    -ldflags "-s -w -X github.com/rhysd/actionlint.version=$ACTIONLINT_VERSION" \
    "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
  touch "$actionlint_stamp"
fi

# --- the OCI registry of the release tests --------------------------------------------------------
# kind/tools/registry (the Distribution registry with its filesystem driver) built inside that
# module, so that it shares the module's pinned versions and Go's build cache with
# scripts/cluster.sh. (Distribution's own cmd/registry links every cloud storage driver, whose
# modules kind/tools does not pin.)
registry_stamp="$BIN_DIR/.registry-$REGISTRY_VERSION"
if [ -x "$BIN_DIR/registry" ] && [ -f "$registry_stamp" ]; then
  say "registry $REGISTRY_VERSION already in .tools/bin"
else
  command -v go >/dev/null 2>&1 || die "Go is needed to build the registry: 'brew install go'"
  say "building the Distribution registry $REGISTRY_VERSION (kind/tools) with Go"
  rm -f "$BIN_DIR"/.registry-*
  (cd kind/tools && CGO_ENABLED=0 go build -trimpath -mod=readonly -ldflags "-s -w" \
    -o "$BIN_DIR/registry" ./registry)
  touch "$registry_stamp"
fi

# --- chart-testing ------------------------------------------------------------------------------
# Built inside its module's folder in Go's module cache (as promtool), with that go.mod and
# go.sum: the same build as `go install ...@version`, which also asks the module proxy for the
# module's list of versions (to report a deprecation), and a proxy that serves pinned versions
# only refuses that. Its etc/ (lintconf.yaml, chart_schema.yaml: what ct reads, and its image
# ships in /etc/ct) is copied from the same folder.
ct_stamp="$BIN_DIR/.ct-$CHART_TESTING_VERSION"
ct_etc="$TOOLS_DIR/ct"
if [ -x "$BIN_DIR/ct" ] && [ -f "$ct_stamp" ] && [ -s "$ct_etc/lintconf.yaml" ] &&
  [ -s "$ct_etc/chart_schema.yaml" ]; then
  say "chart-testing $CHART_TESTING_VERSION already in .tools/bin"
else
  command -v go >/dev/null 2>&1 || die "Go is needed to build chart-testing: 'brew install go'"
  say "building chart-testing $CHART_TESTING_VERSION with Go"
  rm -f "$BIN_DIR"/.ct-*
  dir="$(module_dir "github.com/helm/chart-testing/v3@$CHART_TESTING_VERSION")"
  if [ -z "$dir" ] || [ ! -d "$dir/ct" ]; then
    die "github.com/helm/chart-testing/v3@$CHART_TESTING_VERSION has no ct/"
  fi
  (cd "$dir" && CGO_ENABLED=0 go build -trimpath -mod=readonly \
    -ldflags "-s -w -X github.com/helm/chart-testing/v3/ct/cmd.Version=$CHART_TESTING_VERSION" \
    -o "$BIN_DIR/ct" ./ct)
  mkdir -p "$ct_etc"
  for file in lintconf.yaml chart_schema.yaml; do
    [ -f "$dir/etc/$file" ] || die "chart-testing $CHART_TESTING_VERSION has no etc/$file"
    cp "$dir/etc/$file" "$ct_etc/$file.tmp"
    chmod u+w "$ct_etc/$file.tmp"
    mv "$ct_etc/$file.tmp" "$ct_etc/$file"
  done
  touch "$ct_stamp"
fi

# --- Flux's CRDs ----------------------------------------------------------------------------------
# From the module cache (`go mod download`, which checks the module against the checksum
# database), else (no Go, or a Go that refuses the module's go line) from the module's zip on the
# Go module proxy; the file is checked against its pinned SHA-256 either way.
GO_MODULE_PROXY="https://proxy.golang.org"
flux_fetched=0
while read -r want module file; do
  [ -n "$file" ] || continue
  case "$module" in
    source-controller) version="$FLUX_SOURCE_CONTROLLER_VERSION" ;;
    helm-controller) version="$FLUX_HELM_CONTROLLER_VERSION" ;;
    *) die "FLUX_CRDS names an unknown module $module" ;;
  esac
  dest_dir="$TOOLS_DIR/flux/$module-$version"
  dest="$dest_dir/$file"
  if [ -s "$dest" ] && [ "$(sha256 "$dest")" = "$want" ]; then
    continue
  fi
  mkdir -p "$dest_dir"
  path="github.com/fluxcd/$module"
  dir=""
  if command -v go >/dev/null 2>&1; then
    dir="$(module_dir "$path@$version" 2>/dev/null || true)"
  fi
  if [ -n "$dir" ] && [ -f "$dir/config/crd/bases/$file" ]; then
    cp "$dir/config/crd/bases/$file" "$dest.tmp"
  else
    zip="$dest_dir/module.zip"
    curl -fsSL -o "$zip" "$GO_MODULE_PROXY/$path/@v/$version.zip" ||
      die "could not download $GO_MODULE_PROXY/$path/@v/$version.zip"
    unzip -p "$zip" "$path@$version/config/crd/bases/$file" >"$dest.tmp" ||
      die "$path@$version has no config/crd/bases/$file"
    rm -f "$zip"
  fi
  chmod u+w "$dest.tmp"
  got="$(sha256 "$dest.tmp")"
  if [ "$got" != "$want" ]; then
    rm -f "$dest.tmp"
    die "Flux's $file ($module $version) has SHA-256 $got, not the pinned $want"
  fi
  mv "$dest.tmp" "$dest"
  flux_fetched=$((flux_fetched + 1))
done <<EOF_FLUX
$FLUX_CRDS
EOF_FLUX
if [ "$flux_fetched" = 0 ]; then
  say "Flux CRDs (source-controller $FLUX_SOURCE_CONTROLLER_VERSION, helm-controller $FLUX_HELM_CONTROLLER_VERSION) already in .tools/flux"
else
  say "Flux: $flux_fetched CRDs checked into .tools/flux"
fi

# --- kustomize ----------------------------------------------------------------------------------
kustomize_stamp="$BIN_DIR/.kustomize-$KUSTOMIZE_VERSION"
if [ -x "$BIN_DIR/kustomize" ] && [ -f "$kustomize_stamp" ]; then
  say "kustomize $KUSTOMIZE_VERSION already in .tools/bin"
else
  command -v go >/dev/null 2>&1 || die "Go is needed to build kustomize: 'brew install go'"
  say "building kustomize $KUSTOMIZE_VERSION with go install"
  rm -f "$BIN_DIR"/.kustomize-*
  GOBIN="$BIN_DIR" CGO_ENABLED=0 go install -ldflags "-s -w" \
    "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
  touch "$kustomize_stamp"
fi

say "tools ready in .tools/"
