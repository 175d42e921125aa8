#!/usr/bin/env bash
# Build the collection tarball, install it into an empty collections path, and
# call its modules and roles by FQCN from a playbook outside the repository.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
bin="$repo/.venv/bin"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$bin/ansible-galaxy" collection build --force --output-path "$work/dist" "$repo" >/dev/null
tarball=$(ls "$work"/dist/mailhost-mail-*.tar.gz)
# The tarball must not carry tests, bench or molecule (build_ignore).
if tar -tzf "$tarball" | grep -E '^(tests|bench|molecule|\.venv)/' >/dev/null; then
  echo "build_ignore failed: test or bench files are in $tarball" >&2
  exit 1
fi
# Dependencies come from the venv's `ansible` package (no Galaxy here).
# Hide the work tree's own copy (the Makefile's collections path) so galaxy
# really installs the tarball instead of finding mailhost.mail already there.
ANSIBLE_COLLECTIONS_PATH="$work/collections" \
  "$bin/ansible-galaxy" collection install --force --no-deps -p "$work/collections" "$tarball" >/dev/null
test -f "$work/collections/ansible_collections/mailhost/mail/MANIFEST.json" ||
  { echo "the tarball did not install into $work/collections" >&2; exit 1; }

mkdir -p "$work/outside"
cat >"$work/outside/play.yml" <<'PLAY'
---
- name: Use mailhost.mail from an installed tarball
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    table: "{{ playbook_dir }}/transport"
  tasks:
    - name: Write a Postfix table without rebuilding it
      mailhost.mail.postfix_map:
        path: "{{ table }}"
        map_type: transport
        entries:
          example.net: "smtp:[relay.example.net]:587"
        rebuild: false
      register: first

    - name: The same again changes nothing
      mailhost.mail.postfix_map:
        path: "{{ table }}"
        map_type: transport
        entries:
          example.net: "smtp:[relay.example.net]:587"
        rebuild: false
      register: second

    - name: Check the results
      ansible.builtin.assert:
        that:
          - first is changed
          - second is not changed
          - lookup('ansible.builtin.file', table) is search('example.net\s+smtp:\[relay.example.net\]:587')
PLAY
cd "$work/outside"
ANSIBLE_COLLECTIONS_PATH="$work/collections:$repo/.venv/lib/python3.11/site-packages" \
  "$bin/ansible-playbook" -i localhost, -e "ansible_python_interpreter=$bin/python" play.yml >"$work/play.log" 2>&1 || { cat "$work/play.log"; exit 1; }
# Every role of the collection resolves by FQCN from the installed copy.
for role in "$repo"/roles/*/; do
  name=$(basename "$role")
  ANSIBLE_COLLECTIONS_PATH="$work/collections:$repo/.venv/lib/python3.11/site-packages" \
    "$bin/ansible-doc" -t role "mailhost.mail.$name" >/dev/null
done
echo "build/install check: $(basename "$tarball") installs; modules and $(ls -d "$repo"/roles/*/ 2>/dev/null | wc -l) roles resolve by FQCN"
