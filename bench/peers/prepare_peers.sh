#!/usr/bin/env bash
# Unpack the peer roles into bench/.cache/peers (ignored by git, never
# committed) from the snapshots the session's `fetch` tool brought onto this
# machine (PEERS_MIRROR, default /work/.mirror), or from a git clone of each
# repository given as GEERLINGGUY_GIT / FOUNDATA_GIT.
set -euo pipefail
cd "$(dirname "$0")/../.."
MIRROR=${PEERS_MIRROR:-/work/.mirror}
CACHE=bench/.cache/peers
G=${GEERLINGGUY_GIT:-$MIRROR/geerlingguy+ansible-role-postfix/repo}
F=${FOUNDATA_GIT:-$MIRROR/foundata+ansible-collection-postfix/repo}
unpack() {  # GITDIR DEST
  local gitdir=$1 dest=$2 head
  [ -d "$gitdir" ] || { echo "[bench/peers] no snapshot at $gitdir (fetch github:... first)" >&2; exit 1; }
  head=$(git --git-dir="$gitdir" rev-parse HEAD)
  if [ "$(cat "$dest/.bench-commit" 2>/dev/null)" != "$head" ]; then
    rm -rf "$dest"; mkdir -p "$dest"
    git --git-dir="$gitdir" archive HEAD | tar -x -C "$dest"
    echo "$head" >"$dest/.bench-commit"
  fi
  echo "[bench/peers] $(basename "$dest") at $head" >&2
}
unpack "$G" "$CACHE/roles/geerlingguy.postfix"
unpack "$F" "$CACHE/collections/ansible_collections/foundata/postfix"
