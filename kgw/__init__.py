"""kgw: a Kafka-wire-compatible broker."""
