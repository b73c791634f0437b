#!/usr/bin/env bash
# Promotes a released chart version to an environment through a GitOps commit:
#
#   make deploy ENV=local|production [VERSION=x.y.z] [APPLY=1] [REGISTRY=host[:port]/path]
#
# Flux deploys what deploy/<ENV>/ says: the OCIRepository of deploy/<ENV>/pantry-chef.yaml names
# the chart at an exact tag, the HelmRelease beside it installs that chart with the values files
# of deploy/<ENV>/kustomization.yaml (helm/values/<ENV>.yaml, and production's site values).
#
# 1. Renders what is deployed now (the tag and the values files of HEAD) and what VERSION would
#    deploy (that chart, the values files of the working tree), with `helm template`, and prints
#    the change to deploy/<ENV>/pantry-chef.yaml and the diff of the rendered objects (diff -u).
#    Nothing changes: a dry run is the default.
# 2. With APPLY=1, after refusing a dirty tree, a VERSION that is not SemVer or not greater than
#    the deployed one, and a VERSION that was never released, it rewrites the tag (and only the
#    tag) and makes one commit of that one file. Pushing it is the promotion: Flux picks it up.
#
# Where a chart version comes from, first that exists:
#   - REGISTRY set: `helm pull oci://REGISTRY/charts/pantry-chef --version V` (REGISTRY_PLAIN_HTTP=1
#     for plain HTTP): the package Flux will pull, and proof that the registry has it;
#   - the tag chart-vV that `make release` makes: the chart's files at that commit (what the
#     release packaged and pushed; that the push happened is not checked without REGISTRY);
#   - the working tree's chart, when its version is V and V was not released yet: dry run only.
#
# VERSION defaults to the version in helm/pantry-chef/Chart.yaml (the latest release). Production's
# required values (the project, the Cloud SQL instance) are in deploy/production/site-values.yaml,
# rendered here exactly as the HelmRelease merges them; while a <project> or <region> placeholder
# is left in deploy/<ENV>/, the script refuses to run.
#
# Bash 3.2 and BSD tools (macOS) as well as Linux.
set -euo pipefail
cd "$(dirname "$0")/.."

CHART_NAME="pantry-chef"
RELEASE="pantry-chef"
NAMESPACE="pantry"
TAG_PREFIX="chart-v"

ENV_NAME="${ENV:-}"
VERSION="${VERSION:-}"
APPLY="${APPLY:-0}"
REGISTRY="${REGISTRY:-}"

if [ -x .tools/bin/helm ]; then HELM="$PWD/.tools/bin/helm"; else HELM="helm"; fi

TMP_DIR="$(mktemp -d "${TMPDIR:-/tmp}/pantry-deploy.XXXXXX")"
trap 'rm -rf "$TMP_DIR"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say() { printf '==> %s\n' "$*"; }
die() {
  printf 'deploy: %s\n' "$1" >&2
  shift
  for lines in "$@"; do printf '%s\n' "$lines" | sed 's/^/  /' >&2; done
  exit 1
}

# --- what the environment is ---------------------------------------------------------------------
case "$ENV_NAME" in
  local | production) ;;
  '') die "usage: make deploy ENV=local|production [VERSION=x.y.z] [APPLY=1]" ;;
  *) die "ENV=$ENV_NAME: there is no deploy/$ENV_NAME (ENV=local or ENV=production)" ;;
esac
case "$APPLY" in 0 | 1) ;; *) die "APPLY must be 0 or 1, not $APPLY" ;; esac
case "$REGISTRY" in *://*) die "REGISTRY=$REGISTRY: give host[:port]/path without a scheme" ;; esac
PLAIN_HTTP=""
if [ "${REGISTRY_PLAIN_HTTP:-0}" = 1 ]; then PLAIN_HTTP="--plain-http"; fi

ENV_DIR="deploy/$ENV_NAME"
DEPLOY_FILE="$ENV_DIR/pantry-chef.yaml"
KUSTOMIZATION="$ENV_DIR/kustomization.yaml"
for file in "$DEPLOY_FILE" "$KUSTOMIZATION"; do [ -f "$file" ] || die "$file is missing"; done
git rev-parse --verify HEAD >/dev/null 2>&1 || die "not a git repository with a commit"

# The chart's tag in the OCIRepository (`    tag: "x.y.z"` under spec.ref), read from stdin.
tag_of() {
  sed -n 's/^    tag:[[:space:]]*"\{0,1\}\([^"[:space:]]*\)"\{0,1\}[[:space:]]*$/\1/p'
}
deployed_text="$(git show "HEAD:$DEPLOY_FILE" 2>/dev/null)" || die "$DEPLOY_FILE is not committed"
current="$(printf '%s\n' "$deployed_text" | tag_of)"
case "$current" in
  '' | *[[:space:]]*) die "$DEPLOY_FILE at HEAD names no single chart tag (spec.ref.tag)" ;;
esac

chart_version="$(sed -n 's/^version:[[:space:]]*//p' helm/pantry-chef/Chart.yaml | head -n 1 |
  sed -e 's/[[:space:]]#.*$//' -e 's/[[:space:]]*$//' -e 's/^"\(.*\)"$/\1/')"
VERSION="${VERSION:-$chart_version}"
greater=1
reason="$(bash scripts/check-chart-version.sh greater "$VERSION" "$current" 2>&1)" || greater=0
case "$reason" in
  "$VERSION is not a SemVer version"*) die "VERSION=$VERSION refused: $reason" ;;
esac
if [ "$APPLY" = 1 ]; then
  # Nothing is rendered or changed before these pass.
  dirty="$(git status --porcelain --untracked-files=normal)"
  [ -z "$dirty" ] || die "the working tree is not clean: commit or remove these first (APPLY=1 commits one file)" "$dirty"
  [ "$greater" = 1 ] || die "VERSION=$VERSION refused: $reason ($ENV_NAME deploys $current; to go back, revert the commit that promoted it)"
fi

# The values files of the kustomization's configMapGenerator, in order, as paths in the repository
# (`- <key>=<file>`, the file relative to deploy/<ENV>).
values_files() {
  sed -n 's/^[[:space:]]*-[[:space:]]*[A-Za-z0-9._-]*=\([^[:space:]]*\)[[:space:]]*$/\1/p' "$KUSTOMIZATION" |
    while read -r file; do
      dir="$ENV_DIR"
      while :; do
        case "$file" in
          ../*) file="${file#../}" dir="$(dirname "$dir")" ;;
          ./*) file="${file#./}" ;;
          *) break ;;
        esac
      done
      if [ "$dir" = . ]; then echo "$file"; else echo "$dir/$file"; fi
    done
}
VALUES_FILES="$(values_files | tr '\n' ' ' | sed 's/ $//')"
[ -n "$VALUES_FILES" ] || die "$KUSTOMIZATION generates no values (configMapGenerator files)"
for file in $VALUES_FILES; do
  [ -f "$file" ] || die "$KUSTOMIZATION names $file, which does not exist"
done

# Placeholders left for the user to fill in (outside comments).
# shellcheck disable=SC2086 # VALUES_FILES: repository paths without spaces
placeholders="$(grep -nE '^[^#]*<(project|region)>' "$ENV_DIR"/*.yaml $VALUES_FILES | sort -u -t: -k1,1 -k2,2n || true)"
[ -z "$placeholders" ] || die "deploy/$ENV_NAME still has placeholders: fill in this site's project and region first (docs/delivery.md)" \
  "$placeholders"

# --- the charts ----------------------------------------------------------------------------------
# Puts the chart VERSION into folder $2 and sets CHART (its path) and SOURCE (where it came from);
# fails when no source has it.
fetch_chart() {
  version="$1" dest="$2"
  mkdir -p "$dest"
  if [ -n "$REGISTRY" ]; then
    # shellcheck disable=SC2086 # PLAIN_HTTP is one flag or nothing
    if "$HELM" pull "oci://$REGISTRY/charts/$CHART_NAME" --version "$version" -d "$dest" \
      $PLAIN_HTTP >"$dest/pull.log" 2>&1; then
      CHART="$dest/$CHART_NAME-$version.tgz"
      SOURCE="oci://$REGISTRY/charts/$CHART_NAME:$version"
      return 0
    fi
    return 1
  fi
  if git rev-parse --verify --quiet "refs/tags/$TAG_PREFIX$version" >/dev/null; then
    git archive "$TAG_PREFIX$version" helm/pantry-chef helm/pantry-lib | tar -x -C "$dest"
    SOURCE="tag $TAG_PREFIX$version"
  elif [ "$version" = "$chart_version" ]; then
    mkdir -p "$dest/helm"
    cp -R helm/pantry-chef helm/pantry-lib "$dest/helm/"
    rm -f "$dest"/helm/pantry-chef/charts/*.tgz
    SOURCE="the working tree (not released: no tag $TAG_PREFIX$version)"
  else
    return 1
  fi
  CHART="$dest/helm/pantry-chef"
  "$HELM" dependency build "$CHART" --skip-refresh >/dev/null ||
    die "helm dependency build of $CHART_NAME $version ($SOURCE) failed"
}

# Renders chart $1 with the values files in folder $2 (named as in VALUES_FILES) into file $3.
render() {
  args=""
  for file in $VALUES_FILES; do args="$args -f $2/$file"; done
  # shellcheck disable=SC2086 # the -f arguments: repository paths without spaces
  "$HELM" template "$RELEASE" "$1" --namespace "$NAMESPACE" $args >"$3" 2>"$3.err" ||
    die "helm template failed" "$(cat "$3.err")"
}

# What is deployed now: the values files as committed, the chart at the committed tag.
for file in $VALUES_FILES; do
  mkdir -p "$TMP_DIR/values-old/$(dirname "$file")" "$TMP_DIR/values-new/$(dirname "$file")"
  git show "HEAD:$file" >"$TMP_DIR/values-old/$file" 2>/dev/null || : >"$TMP_DIR/values-old/$file"
  cp "$file" "$TMP_DIR/values-new/$file"
done

if fetch_chart "$current" "$TMP_DIR/old"; then
  old_source="$SOURCE"
  render "$CHART" "$TMP_DIR/values-old" "$TMP_DIR/old.yaml"
else
  old_source="not found: nothing to compare with"
  : >"$TMP_DIR/old.yaml"
fi
fetch_chart "$VERSION" "$TMP_DIR/new" ||
  if [ -n "$REGISTRY" ]; then
    die "$CHART_NAME $VERSION is not in oci://$REGISTRY/charts/$CHART_NAME" "$(cat "$TMP_DIR/new/pull.log" 2>/dev/null)"
  else
    die "$CHART_NAME $VERSION was never released: no tag $TAG_PREFIX$VERSION, and the working tree's chart is $chart_version" \
      "make release VERSION=$VERSION first, or give REGISTRY=host/path to look there"
  fi
new_source="$SOURCE"
render "$CHART" "$TMP_DIR/values-new" "$TMP_DIR/new.yaml"

say "$ENV_NAME: $CHART_NAME $current deployed ($old_source)"
say "$ENV_NAME: $CHART_NAME $VERSION proposed ($new_source)"
say "values: $VALUES_FILES"

# The file APPLY=1 commits: the tag rewritten (awk into a temporary file: no in-place sed).
awk -v version="$VERSION" '
  /^    tag:/ && !done { print "    tag: \"" version "\""; done = 1; next }
  { print }
' "$DEPLOY_FILE" >"$TMP_DIR/deploy.yaml"

printf '\n'
if diff -u -L "a/$DEPLOY_FILE" -L "b/$DEPLOY_FILE" "$DEPLOY_FILE" "$TMP_DIR/deploy.yaml"; then
  say "$DEPLOY_FILE: no change (the tag is $VERSION already)"
fi
printf '\n'
if diff -u -L "$ENV_NAME: $CHART_NAME $current (deployed)" -L "$ENV_NAME: $CHART_NAME $VERSION" \
  "$TMP_DIR/old.yaml" "$TMP_DIR/new.yaml"; then
  say "the rendered objects do not change"
fi
printf '\n'

if [ "$APPLY" != 1 ]; then
  if [ "$greater" = 0 ]; then
    say "dry run: APPLY=1 would refuse $VERSION ($reason)"
  else
    say "dry run: nothing changed; APPLY=1 commits $DEPLOY_FILE with the tag $VERSION"
  fi
  exit 0
fi

# --- APPLY=1: one commit -------------------------------------------------------------------------
case "$new_source" in
  the\ working\ tree*) die "$CHART_NAME $VERSION was never released (no tag $TAG_PREFIX$VERSION): make release VERSION=$VERSION first" ;;
esac

cat "$TMP_DIR/deploy.yaml" >"$DEPLOY_FILE"
changed="$(git diff --numstat -- "$DEPLOY_FILE")"
[ "$changed" = "$(printf '1\t1\t%s' "$DEPLOY_FILE")" ] ||
  { git checkout -- "$DEPLOY_FILE"; die "the rewrite of $DEPLOY_FILE changed more than its tag line" "$changed"; }
[ "$(tag_of <"$DEPLOY_FILE")" = "$VERSION" ] ||
  { git checkout -- "$DEPLOY_FILE"; die "could not set the tag in $DEPLOY_FILE"; }
git add "$DEPLOY_FILE"
git commit --quiet -m "Deploy $CHART_NAME $VERSION to $ENV_NAME (was $current)" \
  -m "make deploy: the chart's tag in $ENV_NAME's OCIRepository, the one line Flux promotes from (chart from $new_source). Revert this commit to roll back." \
  -- "$DEPLOY_FILE"
say "committed $(git rev-parse --short HEAD): $ENV_NAME $current -> $VERSION; push it and Flux upgrades the release"
