# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of mailhost.mail.postfix_map: large entries travel as one JSON text (plugin_utils/_map_action)."""

from __future__ import annotations

from ansible_collections.mailhost.mail.plugins.plugin_utils._map_action import MapActionModule as ActionModule

__all__ = ["ActionModule"]
