#!/usr/bin/env bash
# Local Docker test bed for mailhost.mail.
#
#   testbed.sh engine            find a Docker engine, or install and start one (Debian, root)
#   testbed.sh images [--force]  build the local Debian 12/13 systemd images (reused unless --force)
#   testbed.sh cache             start the apt cache (tests/testbed/aptcache.py) so containers share downloads
#   testbed.sh proxy             print the cache's URL as containers see it (nothing if it isn't running)
#   testbed.sh up [--force]      all of the above
#   testbed.sh image-for DISTRO  print the image that MOLECULE_DISTRO=DISTRO maps to
#   testbed.sh ci-image DISTRO   build mailhost-ci:DISTRO from a public registry image (CI only)
#
# With MAILHOST_TESTBED_REGISTRY=DISTRO, `up` builds only that CI image (and needs
# no debootstrap): what the GitHub workflow does on its runners.
#
# Images are built from Debian's archive with debootstrap and `docker import`,
# because no container registry can be reached from these machines.
set -euo pipefail

IMAGE_REPO="${MAILHOST_IMAGE_REPO:-mailhost-testbed}"
# Packages every test image carries: systemd as PID 1, python3 for Ansible,
# and the small tools that Ansible modules and tests expect to find.
BASE_PACKAGES="python3,python3-apt,systemd,systemd-sysv,dbus,ca-certificates,openssl,procps,iproute2,gnupg,netbase,less"
# Bump when the image build changes, so that existing images are rebuilt.
IMAGE_RECIPE=2
ENGINE_WAIT_SECONDS=60
CACHE_PORT=3142
HERE=$(cd "$(dirname "$0")" && pwd)

log() { printf '[testbed] %s\n' "$*" >&2; }
die() { printf '[testbed] ERROR: %s\n' "$*" >&2; exit 1; }

engine_answers() { command -v docker >/dev/null 2>&1 && timeout 10 docker info >/dev/null 2>&1; }

is_debian_root() {
  [ "$(id -u)" = 0 ] && [ -r /etc/os-release ] && . /etc/os-release && [ "${ID:-}" = debian ]
}

apt_install() {
  # apt-get update once per testbed run; package lists may be missing on a fresh machine.
  if [ -z "${_APT_UPDATED:-}" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    _APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

cmd_engine() {
  if engine_answers; then
    log "Docker engine answers ($(docker version --format '{{.Server.Version}}'))"
    return 0
  fi
  is_debian_root || die "no working Docker engine. Start Docker (or set DOCKER_HOST), or run this as root on Debian so the test bed can install docker.io itself."
  if ! command -v dockerd >/dev/null 2>&1; then
    log "installing docker.io"
    apt_install docker.io iptables
  fi
  if ! pgrep -x dockerd >/dev/null 2>&1; then
    log "starting dockerd in the background (log: /var/log/mailhost-dockerd.log)"
    nohup dockerd >/var/log/mailhost-dockerd.log 2>&1 &
  fi
  local i
  for i in $(seq 1 "$ENGINE_WAIT_SECONDS"); do
    if engine_answers; then
      log "Docker engine answers after ${i}s"
      return 0
    fi
    sleep 1
  done
  die "dockerd did not answer within ${ENGINE_WAIT_SECONDS}s; see /var/log/mailhost-dockerd.log"
}

# The first URI of the host's Debian archive (deb822 or one-line format), never a hard-coded mirror.
host_mirror() {
  local uri=""
  if [ -r /etc/apt/sources.list.d/debian.sources ]; then
    uri=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$uri" ] && ls /etc/apt/sources.list /etc/apt/sources.list.d/*.list >/dev/null 2>&1; then
    uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/) { print $i; exit } }')
  fi
  [ -n "$uri" ] || die "could not read a Debian mirror from /etc/apt/sources.list(.d); set MAILHOST_DEBIAN_MIRROR"
  printf '%s\n' "$uri"
}

# MOLECULE_DISTRO names that come from a public registry (CI runners that reach
# one): the image tests/ci/Containerfile is built FROM. `ci-image DISTRO` makes
# the test image (systemd, python3) from it; image-for then names that image.
registry_base() {
  case "$1" in
    fedora42) echo "quay.io/fedora/fedora:42" ;;
    fedora43) echo "quay.io/fedora/fedora:43" ;;
    rockylinux9) echo "quay.io/rockylinux/rockylinux:9" ;;
    rockylinux10) echo "quay.io/rockylinux/rockylinux:10" ;;
    almalinux9) echo "quay.io/almalinuxorg/almalinux:9" ;;
    almalinux10) echo "quay.io/almalinuxorg/almalinux:10" ;;
    debian12-registry) echo "docker.io/library/debian:12" ;;
    debian13-registry) echo "docker.io/library/debian:13" ;;
    *) return 1 ;;
  esac
}
REGISTRY_DISTROS="fedora42 fedora43 rockylinux9 rockylinux10 almalinux9 almalinux10 debian12-registry debian13-registry"

image_for() {
  case "$1" in
    debian12|bookworm) echo "${IMAGE_REPO}:debian12" ;;
    debian13|trixie) echo "${IMAGE_REPO}:debian13" ;;
    # An image reference (registry/name:tag) is used as it is: it must boot systemd and carry python3.
    */*|*:*) echo "$1" ;;
    *) registry_base "$1" >/dev/null ||
         die "unknown MOLECULE_DISTRO '$1' (debian12, debian13, $REGISTRY_DISTROS, or an image reference)"
       echo "mailhost-ci:$1" ;;
  esac
}

# Build mailhost-ci:DISTRO from its public registry image (needs a registry).
cmd_ci_image() {
  local distro="$1" base
  base=$(registry_base "$distro") || die "'$distro' is not a registry distro ($REGISTRY_DISTROS)"
  log "building mailhost-ci:$distro from $base"
  docker build -q --pull --build-arg "BASE=$base" -t "mailhost-ci:$distro" -f "$HERE/../ci/Containerfile" "$HERE/../ci" >/dev/null
}

build_image() {
  local suite="$1" tag="$2" force="$3" mirror rootfs recipe
  recipe=$(docker image inspect -f '{{ index .Config.Labels "mailhost.recipe" }}' "$tag" 2>/dev/null || true)
  if [ "$force" != 1 ] && [ "$recipe" = "$IMAGE_RECIPE" ]; then
    log "reusing image $tag"
    return 0
  fi
  command -v debootstrap >/dev/null 2>&1 || { is_debian_root || die "debootstrap is missing"; apt_install debootstrap; }
  mirror="${MAILHOST_DEBIAN_MIRROR:-$(host_mirror)}"
  # trixie's keyring may be newer than the host's; fetch the current one when needed.
  if [ "$suite" = trixie ] && ! dpkg --compare-versions "$(dpkg-query -W -f='${Version}' debian-archive-keyring 2>/dev/null || echo 0)" ge 2023.4; then
    apt_install debian-archive-keyring
  fi
  rootfs=$(mktemp -d /var/tmp/mailhost-rootfs.XXXXXX)
  # An EXIT trap, not RETURN: a RETURN trap outlives this function and would
  # fire again, with $rootfs out of scope, when its caller returns.
  _BUILD_ROOTFS="$rootfs"
  trap 'rm -rf "${_BUILD_ROOTFS:-/nonexistent}" "${_BUILD_ROOTFS:-/nonexistent}.log"' EXIT
  log "debootstrap $suite from $mirror (about a minute)"
  debootstrap --variant=minbase --include="$BASE_PACKAGES" "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 ||
    { tail -20 "$rootfs.log" >&2; die "debootstrap $suite failed"; }
  rm -f "$rootfs.log"
  # Containers have no console to log in on and nothing to mount.
  chroot "$rootfs" systemctl mask getty.target console-getty.service systemd-firstboot.service \
    systemd-udevd.service systemd-modules-load.service sys-kernel-config.mount >/dev/null 2>&1 || true
  : >"$rootfs/etc/machine-id"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  log "docker import -> $tag"
  tar -C "$rootfs" -c . | docker import \
    --change 'CMD ["/lib/systemd/systemd"]' \
    --change 'ENV container=docker' \
    - "$tag" >/dev/null
  rm -rf "$rootfs"
  _BUILD_ROOTFS=""
  bake_package_lists "$tag"
}

# Package lists in the image: apt-get update costs every new container about
# 5 CPU-seconds, and prepare skips it while the lists are younger than its
# cache_valid_time. Fetched through the test bed's cache when it runs.
bake_package_lists() {
  local tag="$1" name="mailhost-bake-$$" proxy
  proxy=$(cmd_proxy || true)
  docker rm -f "$name" >/dev/null 2>&1 || true
  log "package lists -> $tag"
  docker run --name "$name" -e "P=$proxy" "$tag" sh -c '
    [ -z "$P" ] || echo "Acquire::http::Proxy \"$P\";" > /etc/apt/apt.conf.d/01bake-proxy
    apt-get update -q >/dev/null; rc=$?; rm -f /etc/apt/apt.conf.d/01bake-proxy; exit $rc' ||
    { docker rm -f "$name" >/dev/null 2>&1; die "apt-get update in $tag failed"; }
  docker commit --change 'CMD ["/lib/systemd/systemd"]' --change "LABEL mailhost.recipe=$IMAGE_RECIPE" \
    "$name" "$tag" >/dev/null
  docker rm -f "$name" >/dev/null
}

# Each systemd container takes several inotify instances; at the kernel's
# default of 128 per user, a fleet of 20 exhausts them and new containers exit
# at once with status 255 and no log.
cmd_limits() {
  local cur
  cur=$(sysctl -n fs.inotify.max_user_instances 2>/dev/null || echo 0)
  if [ "$cur" -lt 1024 ] && [ "$(id -u)" = 0 ]; then
    sysctl -qw fs.inotify.max_user_instances=1024 2>/dev/null &&
      log "raised fs.inotify.max_user_instances from $cur to 1024" ||
      log "fs.inotify.max_user_instances is $cur; large fleets may fail to boot"
  fi
}

cmd_images() {
  local force=0
  [ "${1:-}" = --force ] && force=1
  build_image bookworm "$(image_for debian12)" "$force"
  build_image trixie "$(image_for debian13)" "$force"
}

cmd_cache() {
  # A shared package cache: every scenario installs the same packages, and the
  # cache turns downloads after the first into local reads. apt-cacher-ng can't
  # resolve the archive on these machines, so this is a small proxy of our own
  # that only fetches from the hosts in the host's apt sources.
  if port_open; then
    return 0
  fi
  local hosts
  hosts=$(host_archive_hosts)
  log "starting the apt cache on port $CACHE_PORT for: $hosts (log: /var/log/mailhost-aptcache.log)"
  # shellcheck disable=SC2086 # one argument per host
  nohup python3 "$HERE/aptcache.py" --port "$CACHE_PORT" $hosts >/var/log/mailhost-aptcache.log 2>&1 &
  local i
  for i in $(seq 1 20); do
    port_open && return 0
    sleep 0.5
  done
  log "the apt cache did not start; containers will use the archive directly"
}

port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$CACHE_PORT" 2>/dev/null; }

# Host names of every archive in the host's apt sources (the mirror and security).
host_archive_hosts() {
  { cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true; } |
    grep -E '^(URIs:|deb )' | grep -oE 'https?://[^/ ]+' | sed -E 's#https?://##' | sort -u | tr '\n' ' '
}

# The proxy URL the containers use: the default bridge's gateway is this host.
cmd_proxy() {
  local gw
  port_open || return 0
  # docker0's address belongs to this host, so containers on any of our
  # networks reach the cache there.
  gw=$(ip -4 -o addr show docker0 2>/dev/null | awk '{ split($4, a, "/"); print a[1]; exit }')
  [ -n "$gw" ] || gw=$(docker network inspect bridge --format '{{range .IPAM.Config}}{{.Gateway}}{{end}}' 2>/dev/null || true)
  [ -n "$gw" ] && printf 'http://%s:%s\n' "$gw" "$CACHE_PORT"
}

case "${1:-up}" in
  engine) cmd_engine ;;
  images) shift; cmd_engine; cmd_images "$@" ;;
  cache) cmd_cache ;;
  proxy) cmd_proxy ;;
  image-for) image_for "${2:?distro}" ;;
  ci-image) cmd_engine; cmd_ci_image "${2:?distro}" ;;
  up) shift || true
    if [ -n "${MAILHOST_TESTBED_REGISTRY:-}" ]; then
      cmd_engine
      registry_base "$MAILHOST_TESTBED_REGISTRY" >/dev/null || exit 0
      docker image inspect "mailhost-ci:$MAILHOST_TESTBED_REGISTRY" >/dev/null 2>&1 || cmd_ci_image "$MAILHOST_TESTBED_REGISTRY"
    else
      cmd_engine; cmd_limits; cmd_cache; cmd_images "$@"
    fi ;;
  *) die "usage: $0 {up [--force]|engine|images [--force]|cache|proxy|image-for DISTRO|ci-image DISTRO}" ;;
esac
