#!/usr/bin/env bash
# The version check of the charts, as chart-testing's check-version-increment does it: every
# chart under helm/ (a folder with a Chart.yaml) whose files the current commit changes against
# a base ref must carry a SemVer `version` strictly greater than the base's.
#
#   scripts/check-chart-version.sh                 (make chart-version; make chart-test runs it)
#   scripts/check-chart-version.sh greater NEW OLD exit 0 when NEW is SemVer and NEW > OLD
#                                                  (scripts/release.sh asks this)
#
# CHART_BASE names the base ref (default: main, else origin/main, as a CI checkout has it).
# What changed is what the commits since the merge base with it change (git diff merge-base
# HEAD): on the base itself nothing changed and the check passes; uncommitted edits are not
# looked at (commit, then check). A chart new since the base needs only a valid version.
#
# A change to pantry-lib alone does not ask pantry-chef for a bump, but a new pantry-lib version
# means a new dependency version in pantry-chef's Chart.yaml, which does.
#
# Bash 3.2 and BSD tools (macOS) as well as Linux.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { printf 'check-chart-version: %s\n' "$*" >&2; exit 2; }

# SemVer 2.0.0 (semver.org's regular expression, in POSIX ERE).
NUM='(0|[1-9][0-9]*)'
PRE_ID='(0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)'
SEMVER="^$NUM\\.$NUM\\.$NUM(-$PRE_ID(\\.$PRE_ID)*)?(\\+[0-9a-zA-Z-]+(\\.[0-9a-zA-Z-]+)*)?\$"

is_semver() { printf '%s\n' "$1" | grep -Eq "$SEMVER"; }

# Compares two non-negative integers of any length: prints -1, 0 or 1.
cmp_num() {
  a="$(printf '%s' "$1" | sed 's/^0*//')" b="$(printf '%s' "$2" | sed 's/^0*//')"
  if [ "${#a}" -ne "${#b}" ]; then
    if [ "${#a}" -lt "${#b}" ]; then echo -1; else echo 1; fi
  elif [ "$a" = "$b" ]; then echo 0
  elif [ "$(printf '%s\n%s\n' "$a" "$b" | LC_ALL=C sort | head -n 1)" = "$a" ]; then echo -1
  else echo 1
  fi
}

# One pre-release identifier against another (SemVer 11.4): numbers compare as numbers and
# before words, words compare in ASCII order.
cmp_id() {
  case "$1" in *[!0-9]* | '') a_num=0 ;; *) a_num=1 ;; esac
  case "$2" in *[!0-9]* | '') b_num=0 ;; *) b_num=1 ;; esac
  if [ "$a_num" = 1 ] && [ "$b_num" = 1 ]; then cmp_num "$1" "$2"
  elif [ "$a_num" = 1 ]; then echo -1
  elif [ "$b_num" = 1 ]; then echo 1
  elif [ "$1" = "$2" ]; then echo 0
  elif [ "$(printf '%s\n%s\n' "$1" "$2" | LC_ALL=C sort | head -n 1)" = "$1" ]; then echo -1
  else echo 1
  fi
}

# SemVer precedence of two valid versions (build metadata ignored): prints -1, 0 or 1.
cmp_semver() {
  a="${1%%+*}" b="${2%%+*}"
  a_core="${a%%-*}" b_core="${b%%-*}"
  a_pre="" b_pre=""
  case "$a" in *-*) a_pre="${a#*-}" ;; esac
  case "$b" in *-*) b_pre="${b#*-}" ;; esac
  for field in 1 2 3; do
    result="$(cmp_num "$(echo "$a_core" | cut -d. -f"$field")" "$(echo "$b_core" | cut -d. -f"$field")")"
    if [ "$result" != 0 ]; then echo "$result"; return; fi
  done
  # A version without a pre-release ranks above the same version with one.
  if [ -z "$a_pre" ] && [ -z "$b_pre" ]; then echo 0; return; fi
  if [ -z "$a_pre" ]; then echo 1; return; fi
  if [ -z "$b_pre" ]; then echo -1; return; fi
  i=1
  while :; do
    a_id="$(echo "$a_pre" | cut -d. -f"$i" -s)" b_id="$(echo "$b_pre" | cut -d. -f"$i" -s)"
    [ "$i" -gt 1 ] || { a_id="${a_pre%%.*}"; b_id="${b_pre%%.*}"; }
    if [ -z "$a_id" ] && [ -z "$b_id" ]; then echo 0; return; fi
    if [ -z "$a_id" ]; then echo -1; return; fi
    if [ -z "$b_id" ]; then echo 1; return; fi
    result="$(cmp_id "$a_id" "$b_id")"
    if [ "$result" != 0 ]; then echo "$result"; return; fi
    i=$((i + 1))
  done
}

# The top-level `version:` of a Chart.yaml read on stdin (quotes and a trailing comment removed;
# the dependencies' versions are indented, so they never match).
chart_version() {
  sed -n 's/^version:[[:space:]]*//p' | head -n 1 |
    sed -e 's/[[:space:]]#.*$//' -e 's/[[:space:]]*$//' -e 's/^"\(.*\)"$/\1/' -e "s/^'\\(.*\\)'\$/\\1/"
}

if [ "${1:-}" = greater ]; then
  [ "$#" = 3 ] || die "usage: $0 greater NEW OLD"
  is_semver "$2" || { printf '%s is not a SemVer version (MAJOR.MINOR.PATCH, semver.org)\n' "$2" >&2; exit 1; }
  is_semver "$3" || { printf 'the current version %s is not a SemVer version\n' "$3" >&2; exit 1; }
  [ "$(cmp_semver "$2" "$3")" = 1 ] || { printf '%s is not greater than %s\n' "$2" "$3" >&2; exit 1; }
  exit 0
fi
[ "$#" = 0 ] || die "usage: $0 [greater NEW OLD]"

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
git rev-parse --verify --quiet "$base^{commit}" >/dev/null || die "CHART_BASE=$base is not a commit here (fetch it first)"
merge_base="$(git merge-base "$base" HEAD)" || die "$base and HEAD have no common ancestor"
base_short="$(git rev-parse --short "$base")"

failures=0
checked=0
for chart_yaml in helm/*/Chart.yaml; do
  [ -f "$chart_yaml" ] || continue
  chart="${chart_yaml%/Chart.yaml}"
  if git diff --quiet "$merge_base" HEAD -- "$chart/"; then
    continue
  fi
  checked=$((checked + 1))
  new="$(git show "HEAD:$chart_yaml" 2>/dev/null | chart_version)" ||
    die "$chart_yaml is not committed"
  if ! is_semver "$new"; then
    printf 'FAILED: %s: version "%s" is not SemVer (MAJOR.MINOR.PATCH[-PRE][+BUILD], semver.org)\n' "$chart" "$new" >&2
    failures=$((failures + 1))
    continue
  fi
  if ! git cat-file -e "$base:$chart_yaml" 2>/dev/null; then
    printf 'ok: %s %s (new since %s)\n' "$chart" "$new" "$base"
    continue
  fi
  old="$(git show "$base:$chart_yaml" | chart_version)"
  if is_semver "$old" && [ "$(cmp_semver "$new" "$old")" != 1 ]; then
    printf 'FAILED: %s changed since %s (%s) but its version %s is not greater than %s there: bump version in %s\n' \
      "$chart" "$base" "$base_short" "$new" "$old" "$chart_yaml" >&2
    failures=$((failures + 1))
    continue
  fi
  printf 'ok: %s %s -> %s\n' "$chart" "$old" "$new"
done

if [ "$failures" -gt 0 ]; then
  exit 1
fi
if [ "$checked" = 0 ]; then
  printf 'ok: no chart under helm/ changed since %s (%s)\n' "$base" "$base_short"
fi
