"""Make the work tree importable as ansible_collections.mailhost.mail for the unit tests."""

from __future__ import annotations

import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(REPO, ".cache", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "mailhost", "mail")

if not os.path.exists(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    try:
        os.symlink(REPO, LINK)
    except FileExistsError:  # another test process won the race
        pass
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
