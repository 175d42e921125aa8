#!/usr/bin/env bash
# ansible-test sanity needs the collection at .../ansible_collections/mailhost/mail,
# so assemble a copy of the work tree there (tracked and new, not ignored files).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
bin="$repo/.venv/bin"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/mailhost/mail"
mkdir -p "$dest"
cd "$repo"
git ls-files -co --exclude-standard -z | xargs -0 -I{} cp --parents {} "$dest/" 2>/dev/null || true
# ansible-test bootstraps pip in its venvs from a script on ci-files.testing.ansible.com,
# which can't be reached here. Stand in for it with ensurepip plus a pip install
# from the package index that is configured for this machine.
for ver in 24.2 24.3 25.0 25.1; do
  shim="$HOME/.ansible/test/cache/get_pip_${ver//./_}.py"
  [ -f "$shim" ] && continue
  mkdir -p "$(dirname "$shim")"
  cat >"$shim" <<'PY'
import subprocess
import sys

subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"])
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "pip", "install", "--disable-pip-version-check", *args])
PY
done
cd "$dest"
git init -q . && git add -A >/dev/null && git -c user.email=ci@localhost -c user.name=ci commit -qm sanity
# Every sanity test that runs without a container.
tests=(import pep8 pylint action-plugin-docs ansible-doc changelog compile empty-init future-import-boilerplate ignores
  line-endings metaclass-boilerplate no-assert no-get-exception no-illegal-filenames no-smart-quotes
  no-unwanted-characters no-unwanted-files replace-urlopen runtime-metadata shebang symlinks
  use-argspec-type-path use-compat-six validate-modules yamllint shellcheck)
available=$("$bin/ansible-test" sanity --list-tests 2>/dev/null)
args=()
for t in "${tests[@]}"; do
  grep -qx "$t" <<<"$available" && args+=(--test "$t")
done
echo "[sanity] running: ${args[*]//--test /}"
echo "[sanity] skipped: none of the above that this ansible-test offers"
PATH="$bin:$PATH" "$bin/ansible-test" sanity --python 3.11 --color no "${args[@]}"
