"""kgw's sans-IO Kafka wire codec: bytes in, typed messages out, and back."""
