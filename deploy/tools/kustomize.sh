#!/usr/bin/env bash
# Prints the path of kustomize (the version below), building it first when it is missing: with
# `go install` from the Go module proxy, once, into $LINKDUTY_STATE/tools/kustomize-<version>/
# (.state is ignored by git). tests/unit/deploy renders every kustomization of k8s/ with it.
#   deploy/tools/kustomize.sh            the binary's path
#   "$(deploy/tools/kustomize.sh)" build k8s/overlays/production
# Needs: go (1.22 or newer) the first time.
set -euo pipefail
VERSION=v5.7.1
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STATE=${LINKDUTY_STATE:-$REPO/.state}
DIR=$STATE/tools/kustomize-$VERSION
BIN=$DIR/kustomize

if [[ ! -x $BIN ]]; then
  mkdir -p "$DIR"
  exec 9>"$DIR.lock"
  flock -w 600 9 || { echo "kustomize: another install has held $DIR.lock for 600 s" >&2; exit 1; }
  if [[ ! -x $BIN ]]; then  # not built meanwhile by whoever held the lock
    command -v go >/dev/null || { echo "kustomize: go is needed once to build kustomize $VERSION (not found)" >&2; exit 1; }
    echo "kustomize: building $VERSION with go install (once; about a minute)" >&2
    tmp=$(mktemp -d "$DIR/build.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    GOBIN=$tmp go install "sigs.k8s.io/kustomize/kustomize/v5@$VERSION" >&2
    mv "$tmp/kustomize" "$BIN"
  fi
fi
echo "$BIN"
