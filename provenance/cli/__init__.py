"""The `prov` command: the click group and its exit codes (`app`), the shared options (`options`),
one module per command family (`commands_*`), option types (`params`), all terminal rendering
(`render`), and `prov demo` with its generated world (`demo/`)."""
