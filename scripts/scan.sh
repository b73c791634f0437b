#!/usr/bin/env bash
# make scan (make chart-test runs it): Checkov's misconfiguration checks, offline, over
#
#   - the chart as it is installed: pantry-chef rendered by helm with helm/values/local.yaml and
#     with helm/values/production.yaml (its required values set as the chart tests set them);
#   - the three Dockerfiles (services/*/Dockerfile), with the defaults of their ARGs put into
#     their FROM lines, as `docker build` without --build-arg resolves them (Checkov itself does
#     not, and would call `FROM ${PYTHON_IMAGE}` an image without a tag).
#
# Any failed check fails the scan, unless .checkov.yaml skips it: every skip is there, with its
# reason (docs/security.md lists them). Checkov runs from its own virtual environment,
# .tools/checkov (CHECKOV_VENV overrides it), installed here with uv from
# scripts/checkov-requirements.txt (exact versions and hashes, apart from the workspace's lock),
# again whenever that file changes. Installing needs PyPI; the scan needs no network: no API key,
# --skip-download (no guidelines from Prisma Cloud) and no update check (docs/security.md).
#
# HELM overrides .tools/bin/helm. Bash 3.2 and BSD tools (macOS) as well as Linux.
set -euo pipefail
cd "$(dirname "$0")/.."

REQUIREMENTS="scripts/checkov-requirements.txt"
CHECKOV_VENV="${CHECKOV_VENV:-$PWD/.tools/checkov}"
HELM="${HELM:-$PWD/.tools/bin/helm}"
RELEASE="pantry-chef"
NAMESPACE="pantry"
TAG="0123456789ab" # any git revision: the scan looks at the objects, not at the images

say() { printf '==> %s\n' "$*"; }
die() { printf 'scan: %s\n' "$*" >&2; exit 2; }

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1"; else shasum -a 256 "$1"; fi | cut -d' ' -f1
}

[ -x "$HELM" ] || die "no helm at $HELM: run 'make tools'"
command -v uv >/dev/null 2>&1 || die "uv is needed: 'brew install uv' or 'pip install uv'"

# --- Checkov, in its own virtual environment ---------------------------------------------------
stamp="$CHECKOV_VENV/.requirements-$(sha256 "$REQUIREMENTS")"
if [ -x "$CHECKOV_VENV/bin/checkov" ] && [ -f "$stamp" ]; then
  say "checkov already in $CHECKOV_VENV"
else
  say "installing checkov into $CHECKOV_VENV ($REQUIREMENTS)"
  rm -rf "$CHECKOV_VENV"
  # Any Python the workspace accepts (pyproject.toml: >=3.11,<3.14); uv finds or fetches one.
  uv venv --quiet --python '>=3.11,<3.14' "$CHECKOV_VENV"
  uv pip sync --quiet --python "$CHECKOV_VENV/bin/python" --require-hashes "$REQUIREMENTS"
  touch "$stamp"
fi

# --- what to scan -------------------------------------------------------------------------------
work="$(mktemp -d "${TMPDIR:-/tmp}/pantry-scan.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/scan/manifests" "$work/scan/dockerfiles"

"$HELM" dependency build helm/pantry-chef --skip-refresh >/dev/null
render() { # render <name> <helm arguments...>
  local name="$1"
  shift
  "$HELM" template "$RELEASE" helm/pantry-chef --namespace "$NAMESPACE" "$@" \
    >"$work/scan/manifests/$name.yaml"
}
render local -f helm/values/local.yaml --set "image.tag=$TAG" \
  --set image.registry=pantry-registry.localhost:5000
render production -f helm/values/production.yaml --set "image.tag=$TAG" \
  --set workloadIdentity.projectId=pantry-chef-prod \
  --set cloudSqlProxy.instanceConnectionName=pantry-chef-prod:europe-west1:pantry-pg

for dockerfile in services/*/Dockerfile; do
  service="$(basename "$(dirname "$dockerfile")")"
  mkdir -p "$work/scan/dockerfiles/$service"
  script="$work/$service.sed"
  : >"$script"
  # ARG NAME=value (no spaces, as these Dockerfiles write them): ${NAME} and $NAME in FROM lines.
  sed -n 's/^ARG \([A-Za-z_][A-Za-z0-9_]*\)=\([^ ]*\)$/\1 \2/p' "$dockerfile" |
    while read -r name value; do
      # shellcheck disable=SC2016 # the $ are sed's: literal dollars of the Dockerfile
      printf '/^FROM /s|\\${%s}|%s|g\n/^FROM /s|\\$%s\\([^A-Za-z0-9_]\\)|%s\\1|g\n' \
        "$name" "$value" "$name" "$value" >>"$script"
    done
  sed -f "$script" "$dockerfile" >"$work/scan/dockerfiles/$service/Dockerfile"
  if grep -q '^FROM .*\$' "$work/scan/dockerfiles/$service/Dockerfile"; then
    die "$dockerfile: a FROM line names an ARG without a default"
  fi
done

# --- the scan -----------------------------------------------------------------------------------
# No API key: nothing is sent to or fetched from Prisma Cloud, whatever the environment holds.
unset BC_API_KEY PRISMA_API_URL BC_API_URL
export CKV_SKIP_PACKAGE_UPDATE_CHECK=true # no version check against PyPI at every run
export CKV_PARSE_ERROR_FAIL=true          # a file Checkov cannot parse fails the scan

say "checkov $("$CHECKOV_VENV/bin/checkov" --version): the chart (local.yaml, production.yaml) and the Dockerfiles"
status=0
(cd "$work" && "$CHECKOV_VENV/bin/checkov" --config-file "$OLDPWD/.checkov.yaml" \
  --directory scan) || status=$?
if [ "$status" != 0 ]; then
  printf '\nscan: failed checks above. Fix them, or skip one in .checkov.yaml with its reason (docs/security.md).\n' >&2
  exit "$status"
fi
say "no failed checks"
