"""The one rule for every file a command writes (stdout, symlinks, devices, modes, atomic
replacement)."""
