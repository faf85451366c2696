"""The corpus: every scenario, from one module per API family."""

from . import admin, broker_configs, cluster, configs, groups, offsets, produce, sasl, transactions

SCENARIOS = [*cluster.SCENARIOS, *produce.SCENARIOS, *groups.SCENARIOS, *offsets.SCENARIOS,
             *admin.SCENARIOS, *configs.SCENARIOS, *broker_configs.SCENARIOS, *transactions.SCENARIOS, *sasl.SCENARIOS]

_names = [s.name for s in SCENARIOS]
if len(set(_names)) != len(_names):
    raise ValueError(f"scenario names repeat: {sorted({n for n in _names if _names.count(n) > 1})}")
