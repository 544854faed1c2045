"""The operator's AWS tools: `prov ship` (reader, record packing, state), `prov redrive`, `prov
cost`, the signed API client and the pseudonym key secret. The only place in provenance that speaks
AWS."""
