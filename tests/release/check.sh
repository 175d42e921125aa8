#!/usr/bin/env bash
# Release hygiene, as Galaxy and the Ansible docs tooling would see a release:
#  1. galaxy-importer imports the built tarball with no warnings (its ansible-test
#     and ansible-lint steps are off: `make lint` runs both already);
#  2. antsibull-docs lint-collection-docs --plugin-docs is clean on the tarball's content;
#  3. antsibull-changelog release works (in a throwaway copy) and galaxy.yml's
#     version is the one the changelog would release next or last released;
#  4. .github/workflows/*.yml validate against the GitHub workflow schema.
# Tools live in .cache/release-venv (tests/release/requirements.txt), made on first use.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
venv="$repo/.cache/release-venv"
deps="$repo/.venv/lib/python3.11/site-packages/ansible_collections"
req="$repo/tests/release/requirements.txt"
t0=$(date +%s)
if [ ! -x "$venv/bin/antsibull-docs" ] || [ "$req" -nt "$venv/.installed" ]; then
  echo "[release] installing the release tools into ${venv#"$repo"/}"
  [ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r "$req" 2>&1 | grep -v '^WARNING: Location' || true
  touch "$venv/.installed"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0

version=$("$venv/bin/python" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["version"])' "$repo/galaxy.yml")
"$repo/.venv/bin/ansible-galaxy" collection build --force --output-path "$work/dist" "$repo" >/dev/null
tarball="$work/dist/mailhost-mail-$version.tar.gz"

# 1. galaxy-importer
out=$(cd "$work" && PATH="$venv/bin:$PATH" GALAXY_IMPORTER_CONFIG="$repo/tests/release/galaxy-importer.cfg" \
  "$venv/bin/python" -m galaxy_importer.main "$tarball" 2>&1 | grep -v '^WARNING: Location' || true)
if grep -qiE 'warning|error' <<<"$out" || ! grep -q 'Importer processing completed successfully' <<<"$out"; then
  grep -iE 'warning|error' <<<"$out" || tail -20 <<<"$out"
  echo "[release] galaxy-importer: FAIL"; fail=1
else
  echo "[release] galaxy-importer $("$venv/bin/pip" show galaxy-importer 2>/dev/null | sed -n 's/^Version: //p'): imported $(basename "$tarball") with no warnings"
fi

# 2. antsibull-docs on the installed tarball, with only the collections it depends on beside it.
coll="$work/collections"
ANSIBLE_COLLECTIONS_PATH="$coll" "$repo/.venv/bin/ansible-galaxy" collection install --no-deps -p "$coll" "$tarball" >/dev/null
for c in community/general community/crypto ansible/posix; do
  mkdir -p "$coll/ansible_collections/${c%/*}"
  ln -s "$deps/$c" "$coll/ansible_collections/$c"
done
if (cd "$coll/ansible_collections/mailhost/mail" &&
  ANSIBLE_COLLECTIONS_PATH="$coll" PATH="$venv/bin:$PATH" "$venv/bin/antsibull-docs" lint-collection-docs --plugin-docs .); then
  echo "[release] antsibull-docs lint-collection-docs --plugin-docs: clean"
else
  echo "[release] antsibull-docs lint-collection-docs: FAIL"; fail=1
fi

# 3. antsibull-changelog: lint, version agreement, and a release in a throwaway copy.
# The copy is the tarball's content (antsibull-changelog asks ansible-doc for the
# plugins that are new in the release) plus galaxy.yml and the changelog.
copy="$work/copy/ansible_collections/mailhost/mail"
mkdir -p "$(dirname "$copy")"
cp -r "$coll/ansible_collections/mailhost/mail" "$copy"
rm -rf "$copy/changelogs"
cp -r "$repo/changelogs" "$repo/galaxy.yml" "$copy/"
[ ! -f "$repo/CHANGELOG.rst" ] || cp "$repo/CHANGELOG.rst" "$copy/"
if ! (cd "$repo" && "$venv/bin/antsibull-changelog" lint); then
  echo "[release] antsibull-changelog lint: FAIL"; fail=1
fi
if ! "$venv/bin/python" - "$repo/changelogs/changelog.yaml" "$version" "$repo/changelogs/fragments" <<'PY'
import os, sys
import yaml
from packaging.version import Version
releases = (yaml.safe_load(open(sys.argv[1])) or {}).get("releases") or {}
version, fragments = Version(sys.argv[2]), [f for f in os.listdir(sys.argv[3]) if f.endswith((".yml", ".yaml"))]
latest = max((Version(v) for v in releases), default=None)
if latest is not None and version < latest:
    sys.exit("galaxy.yml version %s is older than the changelog's latest release %s" % (version, latest))
if latest is not None and version == latest and fragments:
    sys.exit("galaxy.yml version %s is already released; %d fragments need a new version" % (version, len(fragments)))
print("[release] galaxy.yml version %s: %s" % (version, "the latest release" if version == latest
      else "next release after %s (%d fragments)" % (latest or "none", len(fragments))))
PY
then
  echo "[release] version check: FAIL"; fail=1
fi
released=$(cd "$copy" && PATH="$venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$work/copy:$coll" \
  "$venv/bin/antsibull-changelog" release --date 2000-01-01 2>&1) || { echo "$released"; fail=1; }
if [ -f "$copy/CHANGELOG.rst" ] && grep -q "^v$version$" "$copy/CHANGELOG.rst" &&
  "$venv/bin/python" -c 'import sys, yaml; sys.exit(sys.argv[2] not in yaml.safe_load(open(sys.argv[1]))["releases"])' \
    "$copy/changelogs/changelog.yaml" "$version"; then
  echo "[release] antsibull-changelog release (throwaway copy): v$version, $(grep -c '^- ' "$copy/CHANGELOG.rst") entries in CHANGELOG.rst"
else
  echo "[release] antsibull-changelog release: FAIL"; fail=1
fi
# 4. The GitHub workflow (it can't run here): schema check, offline (yamllint runs in make lint).
if "$venv/bin/check-jsonschema" --builtin-schema vendor.github-workflows "$repo"/.github/workflows/*.yml >/dev/null; then
  echo "[release] .github/workflows: valid against the GitHub workflow schema"
else
  "$venv/bin/check-jsonschema" --builtin-schema vendor.github-workflows "$repo"/.github/workflows/*.yml || true
  echo "[release] .github/workflows schema: FAIL"; fail=1
fi
echo "[stage] release checks: $(( $(date +%s) - t0 ))s"
exit $fail
