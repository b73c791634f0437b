#!/usr/bin/env bash
# A release of the pantry-chef chart (and of the images it names) into an OCI registry:
#
#   make release VERSION=0.2.0 REGISTRY=registry.example.com/pantry [SIGNING_KEY=name] ...
#
# 1. refuses a dirty tree, a VERSION that is not SemVer or not greater than the chart's version,
#    and a tag chart-vVERSION that already exists;
# 2. the images (RELEASE_IMAGES=1, the default): `scripts/dev.sh images` builds the three of
#    them from this clean tree, tagged with its git revision (git rev-parse --short=12 HEAD, as
#    make dev tags them), and they are pushed as REGISTRY/pantry-chef/<service>:<revision>;
#    RELEASE_IMAGES=0 skips them (CI builds them multi-arch itself, .github/workflows/release.yml);
# 3. sets `version: VERSION` and `appVersion: "<revision>"` in helm/pantry-chef/Chart.yaml,
#    commits that file alone and makes the annotated tag chart-vVERSION;
# 4. packages the chart into dist/charts/, with a provenance file when SIGNING_KEY names a GPG
#    key (helm package --sign; helm verify checks it before anything is pushed);
# 5. pushes it to oci://REGISTRY/charts (REGISTRY/charts/pantry-chef:VERSION, .prov included);
# 6. with COSIGN=keyless, signs the chart's digest and the images with cosign (CI only: it needs
#    the OIDC token of the repository's workflow).
#
# On a commit that already is the release (tagged chart-vVERSION, with that version), steps 1-3
# are checks only and the release is published as it is: that is what the release workflow runs
# on the pushed tag. DRY_RUN=1 makes every check and changes nothing. The tag is not pushed:
# `git push origin main chart-vVERSION` is the step that starts the release workflow.
#
# Variables:
#   VERSION               the chart's new version (or the first argument)
#   REGISTRY              host[:port]/path of the OCI registry, without a scheme (required)
#   REGISTRY_PLAIN_HTTP=1 plain HTTP (a local registry)
#   REGISTRY_USERNAME, REGISTRY_PASSWORD
#                         log helm in first (the password goes on stdin)
#   SIGNING_KEY           the GPG key (name, e-mail or fingerprint) that signs the package
#   SIGNING_KEYRING       a legacy secret keyring holding it (default: exported from gpg)
#   SIGNING_KEY_ASC       the armored secret key itself (CI's secret), imported into a private
#                         keyring that is removed on exit; HELM_KEY_PASSPHRASE if it has one
#   RELEASE_IMAGES=0      do not build and push the images
#   COSIGN=keyless        sign the chart and the images with cosign (keyless)
#   DRY_RUN=1             checks only
#
# Writes tag, revision, app-version and chart-digest to $GITHUB_OUTPUT when that is set.
# Bash 3.2 and BSD tools (macOS) as well as Linux.
set -euo pipefail
cd "$(dirname "$0")/.."

CHART_DIR="helm/pantry-chef"
CHART_YAML="$CHART_DIR/Chart.yaml"
CHART_NAME="pantry-chef"
TAG_PREFIX="chart-v"
SERVICES="api recipe-engine realtime"
OUT_DIR="dist/charts"

VERSION="${1:-${VERSION:-}}"
REGISTRY="${REGISTRY:-}"
RELEASE_IMAGES="${RELEASE_IMAGES:-1}"
SIGNING_KEY="${SIGNING_KEY:-}"
SIGNING_KEYRING="${SIGNING_KEYRING:-}"
SIGNING_KEY_ASC="${SIGNING_KEY_ASC:-}"
COSIGN="${COSIGN:-}"
DRY_RUN="${DRY_RUN:-0}"

if [ -x .tools/bin/helm ]; then HELM="$PWD/.tools/bin/helm"; else HELM="helm"; fi

TMP_DIR="$(mktemp -d "${TMPDIR:-/tmp}/pantry-release.XXXXXX")"
trap 'rm -rf "$TMP_DIR"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say() { printf '==> %s\n' "$*"; }
die() {
  printf 'release: %s\n' "$1" >&2
  shift
  for line in "$@"; do printf '  %s\n' "$line" >&2; done
  exit 1
}

# The top-level `version:` or `appVersion:` of the chart (quotes and a trailing comment removed).
chart_field() {
  sed -n "s/^$1:[[:space:]]*//p" "$CHART_YAML" | head -n 1 |
    sed -e 's/[[:space:]]#.*$//' -e 's/[[:space:]]*$//' -e 's/^"\(.*\)"$/\1/'
}

output() {
  if [ -n "${GITHUB_OUTPUT:-}" ]; then printf '%s=%s\n' "$1" "$2" >>"$GITHUB_OUTPUT"; fi
}

# --- checks (nothing changes before they all pass) -------------------------------------------------
[ -n "$VERSION" ] || die "usage: make release VERSION=x.y.z REGISTRY=host[:port]/path"
[ -n "$REGISTRY" ] || die "REGISTRY is not set: host[:port]/path of the OCI registry (no oci://)"
case "$REGISTRY" in
  *://*) die "REGISTRY=$REGISTRY: give host[:port]/path without a scheme (oci:// is added)" ;;
esac
case "$RELEASE_IMAGES" in 0 | 1) ;; *) die "RELEASE_IMAGES must be 0 or 1, not $RELEASE_IMAGES" ;; esac
case "$COSIGN" in '' | keyless) ;; *) die "COSIGN must be empty or keyless, not $COSIGN" ;; esac
PLAIN_HTTP=""
if [ "${REGISTRY_PLAIN_HTTP:-0}" = 1 ]; then PLAIN_HTTP="--plain-http"; fi

git rev-parse --verify HEAD >/dev/null 2>&1 || die "not a git repository with a commit"
dirty="$(git status --porcelain --untracked-files=normal)"
[ -z "$dirty" ] || die "the working tree is not clean: commit or remove these first" "$dirty"

tag="$TAG_PREFIX$VERSION"
current="$(chart_field version)"
if [ "$current" = "$VERSION" ] && git tag --points-at HEAD | grep -qx "$tag"; then
  # The release commit itself (the release workflow, on the pushed tag): publish it.
  mode=publish
  revision_short="$(chart_field appVersion)"
  revision="$(git rev-parse --verify --quiet "$revision_short^{commit}")" ||
    die "appVersion $revision_short of $CHART_YAML is not a commit here (fetch the history: fetch-depth 0)"
  # The images are built from the revision; the release commit may differ from it only in the
  # chart's Chart.yaml (which no image contains: .dockerignore leaves helm/ out).
  others="$(git diff --name-only "$revision" HEAD | grep -vx "$CHART_YAML" || true)"
  [ -z "$others" ] || die "$tag changes more than $CHART_YAML since appVersion $revision_short" "$others"
  say "HEAD is the release $tag (images at $revision_short): publishing it"
else
  mode=release
  if git rev-parse --verify --quiet "refs/tags/$tag" >/dev/null; then
    die "the tag $tag exists already: choose a new version"
  fi
  reason="$(bash scripts/check-chart-version.sh greater "$VERSION" "$current" 2>&1)" ||
    die "VERSION=$VERSION refused: $reason (the chart $CHART_NAME is at $current in $CHART_YAML)"
  revision="$(git rev-parse HEAD)"
  revision_short="$(git rev-parse --short=12 HEAD)"
  say "releasing $CHART_NAME $current -> $VERSION, images at $revision_short"
fi

keyring=""
if [ -n "$SIGNING_KEY_ASC" ]; then
  [ -n "$SIGNING_KEY" ] || die "SIGNING_KEY_ASC is set but SIGNING_KEY (the key's name) is not"
  export GNUPGHOME="$TMP_DIR/gnupg"
  mkdir -m 700 "$GNUPGHOME"
  printf '%s\n' "$SIGNING_KEY_ASC" | gpg --batch --quiet --import 2>/dev/null ||
    die "SIGNING_KEY_ASC is not an armored secret key gpg can import"
fi
if [ -n "$SIGNING_KEY" ]; then
  if [ -n "$SIGNING_KEYRING" ]; then
    [ -s "$SIGNING_KEYRING" ] || die "SIGNING_KEYRING=$SIGNING_KEYRING is missing or empty"
    keyring="$SIGNING_KEYRING"
  else
    # helm reads the legacy keyring format, not gpg 2's keybox: export the key into one.
    command -v gpg >/dev/null 2>&1 || die "gpg is missing (brew install gnupg), or give SIGNING_KEYRING"
    keyring="$TMP_DIR/secring.gpg"
    (umask 077 && gpg --batch --export-secret-keys "$SIGNING_KEY" >"$keyring" 2>/dev/null) || true
    [ -s "$keyring" ] || die "gpg has no secret key $SIGNING_KEY (gpg --list-secret-keys)"
  fi
fi
if [ -n "$COSIGN" ]; then
  command -v cosign >/dev/null 2>&1 || die "COSIGN=$COSIGN but cosign is not installed"
fi
if [ "$RELEASE_IMAGES" = 1 ]; then
  command -v docker >/dev/null 2>&1 || die "docker is needed for the images (or RELEASE_IMAGES=0)"
fi

output tag "$tag"
output revision "$revision"
output app-version "$revision_short"
if [ "$DRY_RUN" = 1 ]; then
  say "dry run: $mode $tag, appVersion $revision_short, to oci://$REGISTRY/charts/$CHART_NAME; nothing changed"
  exit 0
fi

# --- images ----------------------------------------------------------------------------------------
if [ "$RELEASE_IMAGES" = 1 ]; then
  # dev.sh tags them with the revision of this clean tree (HEAD): the release commit of
  # publish mode has the same image contents as the revision (checked above).
  built="$(git rev-parse --short=12 HEAD)"
  bash scripts/dev.sh images
  for service in $SERVICES; do
    target="$REGISTRY/pantry-chef/$service:$revision_short"
    docker image inspect "pantry-chef/$service:$built" >/dev/null 2>&1 ||
      die "scripts/dev.sh images made no pantry-chef/$service:$built"
    docker tag "pantry-chef/$service:$built" "$target"
    docker push --quiet "$target" >/dev/null || die "could not push $target"
    say "pushed $target"
  done
else
  say "images: not built here (RELEASE_IMAGES=0): REGISTRY/pantry-chef/<service>:$revision_short must exist"
fi

# --- version, commit, tag -------------------------------------------------------------------------------
if [ "$mode" = release ]; then
  # Rewritten through a temporary file (in-place sed differs between BSD and GNU sed). appVersion is
  # quoted: an all-digit revision would otherwise be read as a number.
  awk -v version="$VERSION" -v app="$revision_short" '
    /^version:/ && !v { print "version: " version; v = 1; next }
    /^appVersion:/ && !a { print "appVersion: \"" app "\""; a = 1; next }
    { print }
    END { if (!v || !a) exit 3 }
  ' "$CHART_YAML" >"$TMP_DIR/Chart.yaml" || die "$CHART_YAML has no top-level version: or appVersion: line"
  cat "$TMP_DIR/Chart.yaml" >"$CHART_YAML"
  if [ "$(chart_field version)" != "$VERSION" ] || [ "$(chart_field appVersion)" != "$revision_short" ]; then
    die "could not set the version in $CHART_YAML"
  fi
  git add "$CHART_YAML"
  git commit --quiet -m "Release chart $CHART_NAME $VERSION (images at $revision_short)" \
    -m "make release: the chart's version and appVersion, the git revision its images are built from and tagged with." \
    -- "$CHART_YAML"
  git tag -a "$tag" -m "$CHART_NAME chart $VERSION, images at $revision_short"
  say "committed $(git rev-parse --short HEAD) and tagged $tag"
fi

# --- package, sign, push ----------------------------------------------------------------------------
"$HELM" dependency build "$CHART_DIR" --skip-refresh >/dev/null
mkdir -p "$OUT_DIR"
package="$OUT_DIR/$CHART_NAME-$VERSION.tgz"
rm -f "$package" "$package.prov"
if [ -n "$SIGNING_KEY" ]; then
  "$HELM" package "$CHART_DIR" -d "$OUT_DIR" --sign --key "$SIGNING_KEY" --keyring "$keyring" >/dev/null
  [ -s "$package.prov" ] || die "helm package --sign wrote no $package.prov"
  "$HELM" verify "$package" --keyring "$keyring" >/dev/null ||
    die "helm verify refuses the package just signed" "$HELM verify $package --keyring $keyring"
  say "packaged and signed $package (+ .prov, key $SIGNING_KEY)"
else
  "$HELM" package "$CHART_DIR" -d "$OUT_DIR" >/dev/null
  say "packaged $package (unsigned: SIGNING_KEY is not set)"
fi
[ -s "$package" ] || die "helm package wrote no $package"

if [ -n "${REGISTRY_USERNAME:-}" ]; then
  printf '%s' "${REGISTRY_PASSWORD:-}" |
    "$HELM" registry login "${REGISTRY%%/*}" $PLAIN_HTTP --username "$REGISTRY_USERNAME" --password-stdin >/dev/null
fi
# shellcheck disable=SC2086 # PLAIN_HTTP is one flag or nothing
pushed="$("$HELM" push "$package" "oci://$REGISTRY/charts" $PLAIN_HTTP 2>&1)" ||
  die "helm push to oci://$REGISTRY/charts failed" "$pushed"
digest="$(printf '%s\n' "$pushed" | sed -n 's/^Digest:[[:space:]]*\(sha256:[0-9a-f]*\).*/\1/p' | head -n 1)"
[ -n "$digest" ] || die "helm push printed no digest" "$pushed"
output chart-digest "$digest"
say "pushed oci://$REGISTRY/charts/$CHART_NAME:$VERSION ($digest)"

if [ "$COSIGN" = keyless ]; then
  cosign sign --yes "$REGISTRY/charts/$CHART_NAME@$digest"
  for service in $SERVICES; do
    # By tag: cosign resolves it to the digest it signs (the images were pushed in this run).
    cosign sign --yes "$REGISTRY/pantry-chef/$service:$revision_short"
  done
  say "signed the chart and the images with cosign (keyless)"
fi
say "released $CHART_NAME $VERSION: helm pull oci://$REGISTRY/charts/$CHART_NAME --version $VERSION"
