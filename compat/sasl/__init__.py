"""SASL (Kafka's SASL_PLAINTEXT: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) with
every stock client against a `kgw serve --sasl-user ...` process."""
