"""`prov demo` and its generated world.

The command's run and what it prints: `tour.py` (`run_demo`), in a folder it may fill again
(`folder.py`). The world, a pure, deterministic generator of sample logs: `world.py` (its
entry points `generate` and `plan`, and the whole run), made of `repository.py` (objects,
versions, accessioning, ingest, replication), `audits.py`, `traffic.py`, `people.py` and
`access_logs.py` (web traffic and the access logs' lines), on `world_base.py` (the world's
state and line writers), `model.py` (its things), `log_formats.py` (times and files) and
`vocabulary.py` (the names and rates it draws from).
"""
