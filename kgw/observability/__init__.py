"""What kgw tells its operator: log output and Prometheus metrics."""
