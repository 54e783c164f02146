#!/usr/bin/env bash
# SeaweedFS's `weed` binary for the local stack's S3-compatible object store (stack.sh s3-start).
# Built from the Go module proxy at the one version pinned here, into
# $LINKDUTY_STATE/tools/seaweedfs-<version>/weed; a changed pin builds anew.
#
# Usage: deploy/local/seaweedfs.sh install   print the binary's path; build it first when missing
#        deploy/local/seaweedfs.sh version   print the pinned module version
#
# Needs Go (1.26.6 or newer, the module's go line). A cold build takes about 8 minutes on two
# cores (module downloads included; ~160 MB binary); later builds reuse Go's caches.
set -euo pipefail

SEAWEEDFS_MODULE=github.com/seaweedfs/seaweedfs
SEAWEEDFS_VERSION=v0.0.0-20261109003541-7506e5f91cd6   # the one pin (release 4.53)

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
STATE=${LINKDUTY_STATE:-$REPO/.state}

log() { printf 'seaweedfs: %s\n' "$*" >&2; }
die() { printf 'seaweedfs: ERROR: %s\n' "$*" >&2; exit 1; }

weed_install() {
  mkdir -p "$STATE/tools"
  local dir
  dir=$(cd "$STATE/tools" && pwd)/seaweedfs-$SEAWEEDFS_VERSION
  local bin=$dir/weed
  if [[ -x $bin ]]; then echo "$bin"; return; fi
  # One build at a time (parallel test workers); the stack's own lock is not held meanwhile.
  exec 8>"$dir.lock"
  flock -w 1200 8 || die "another build has held $dir.lock for 20 minutes"
  if [[ -x $bin ]]; then echo "$bin"; return; fi
  command -v go >/dev/null || die "go not found: Go 1.26.6+ builds SeaweedFS for the S3 store (apt-get install golang-go is older: see README, GOTOOLCHAIN)"
  local t0=$SECONDS src log_file=$dir.build.log
  : >"$log_file"
  log "building weed from $SEAWEEDFS_MODULE@$SEAWEEDFS_VERSION (once; ~8 min cold, log $log_file) ..."
  # `go install pkg@version` refuses a module whose go.mod has replace directives (this one has):
  # download the module and build inside its (read-only) module-cache copy, which keeps them.
  src=$(go mod download -json "$SEAWEEDFS_MODULE@$SEAWEEDFS_VERSION" 2>>"$log_file" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || true
  [[ -n $src && -f $src/go.mod ]] || { tail -n 20 "$log_file" >&2; die "go mod download failed (log: $log_file)"; }
  mkdir -p "$dir"
  if ! (cd "$src" && go build -buildvcs=false -trimpath -ldflags "-s -w" -o "$bin.tmp" ./weed) >>"$log_file" 2>&1; then
    grep -v '^go: downloading' "$log_file" | tail -n 20 >&2
    die "go build failed (log: $log_file)"
  fi
  mv -f "$bin.tmp" "$bin"
  log "built $bin ($(($(stat -c %s "$bin") / 1048576)) MiB) in $((SECONDS - t0)) s"
  echo "$bin"
}

case ${1:-} in
  install) weed_install ;;
  version) echo "$SEAWEEDFS_VERSION" ;;
  *) sed -n '2,10{s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
esac
