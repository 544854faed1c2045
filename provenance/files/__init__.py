"""The one rule for every file a command writes (stdout, symlinks, devices, modes, atomic
replacement), and the one for a small file read whole (regular files only, with a bound)."""
