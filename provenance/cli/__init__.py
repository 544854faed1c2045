"""The `prov` command: the click group and its commands, option types, terminal rendering, and `prov
demo` with its generated world."""
