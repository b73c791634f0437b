#!/usr/bin/env bash
# chart-testing's `ct lint` (make chart-lint; make chart-test runs it) with ct.yaml, on the charts
# under helm/ that changed since the base ref: ct's version-increment check against the base,
# yamllint of Chart.yaml and values.yaml, the Chart.yaml schema (yamale) and `helm lint`.
#
#   scripts/chart-lint.sh            the charts changed since the base (version check on)
#   scripts/chart-lint.sh --all      every chart (ct turns the version check off with --all)
#
# The base is CHART_BASE, as for scripts/check-chart-version.sh: by default main, else
# origin/main (a CI checkout). ct names it as "<remote>/<target-branch>" and always joins the two
# with a slash, so a remote-tracking branch (origin/main) is --remote origin --target-branch main,
# and a local branch or a tag is its full ref name cut in two (refs/heads + main), which git
# reads as the same ref. ct counts uncommitted edits as changes; check-chart-version.sh only
# commits.
#
# Bash 3.2 and BSD tools (macOS) as well as Linux.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { printf 'chart-lint: %s\n' "$*" >&2; exit 2; }

# ct runs helm, yamllint and yamale from the PATH: the pinned helm of .tools/bin, and the
# workspace's yamllint and yamale (make chart-lint runs this script through `uv run`).
if [ -x .tools/bin/ct ]; then PATH="$PWD/.tools/bin:$PATH"; fi
for tool in ct helm yamllint yamale; do
  command -v "$tool" >/dev/null 2>&1 ||
    die "$tool is not on the PATH: make chart-lint (make tools builds ct and helm, uv sync installs yamllint and yamale)"
done

# Every chart: no base to compare with.
if [ "${1:-}" = --all ]; then
  exec ct lint --config ct.yaml "$@"
fi

base="${CHART_BASE:-}"
if [ -z "$base" ]; then
  for candidate in main origin/main; do
    if git rev-parse --verify --quiet "$candidate^{commit}" >/dev/null; then
      base="$candidate"
      break
    fi
  done
  [ -n "$base" ] || die "no branch main or origin/main to compare with: set CHART_BASE (a CI checkout needs the base branch fetched)"
fi

full="$(git rev-parse --symbolic-full-name "$base" 2>/dev/null || true)"
remote=""
branch=""
case "$full" in
  refs/remotes/*)
    rest="${full#refs/remotes/}"
    remote="refs/remotes"
    branch="$rest"
    # A configured remote by its name: ct also reads its URL (for the maintainer check).
    for name in $(git remote); do
      case "$rest" in "$name"/*) remote="$name" branch="${rest#"$name"/}" ;; esac
    done
    ;;
  refs/heads/*) remote="refs/heads" branch="${full#refs/heads/}" ;;
  refs/tags/*) remote="refs/tags" branch="${full#refs/tags/}" ;;
esac
[ -n "$remote" ] ||
  die "CHART_BASE=$base is not a branch or a tag here (ct compares with <remote>/<branch>; fetch it first)"

exec ct lint --config ct.yaml --remote "$remote" --target-branch "$branch" "$@"
