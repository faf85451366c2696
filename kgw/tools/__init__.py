"""kgw's command-line tools: `kgw topics`, `produce`, `consume`, `groups`
and `transactions` speak the Kafka protocol to any Kafka-compatible broker;
`kgw log` reads kgw's files offline.  kgw.cli imports each command's module
when that command runs."""
