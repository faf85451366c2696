"""Apache Kafka itself, the reference kgw is judged against: pom.xml names
the release, apache_kafka.py fetches it through Maven and runs one node."""
