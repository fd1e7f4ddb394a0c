"""Suppression entries (by blind index only) and the screening of recipient lists."""

# Imported for its session event listeners: every session that writes
# suppression entries must stamp their change versions (see the module).
from suppression import changes as changes
