# Kafka Connect with the Debezium PostgreSQL connector, built from the same Maven pom the native stack uses.
FROM maven:3.9-eclipse-temurin-17 AS plugins
COPY infra/maven/debezium/pom.xml /build/pom.xml
RUN mvn -B -q -C -f /build/pom.xml dependency:copy-dependencies \
    -DoutputDirectory=/plugins/debezium-connector-postgres

FROM apache/kafka:4.1.1
COPY --from=plugins /plugins /opt/connect-plugins
COPY infra/docker/connect-distributed.properties /opt/connect/connect-distributed.properties
CMD ["/opt/kafka/bin/connect-distributed.sh", "/opt/connect/connect-distributed.properties"]
