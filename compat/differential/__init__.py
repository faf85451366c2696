"""The differential suite: the same requests to kgw and to Apache Kafka,
their answers compared field by field (see README.md)."""
