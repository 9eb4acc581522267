// Drives ClickHouse's official JDBC driver (com.clickhouse:clickhouse-jdbc, what DBeaver and other JDBC tools load)
// with its defaults against a ClickHouse HTTP service and prints what it saw as one JSON object; the Python test
// (tests/infra/clickhouse_compat) compares that with what it expects. The password comes from CLICKHOUSE_PASSWORD.
//
// Usage: java -cp <driver jars>:<this class> Compat <jdbc url> <user> <currency> <since> <write table>
import java.lang.reflect.Array;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;

public final class Compat {
    // The SQL every client of the suite runs (the Go program and the Python test hold the same texts).
    static final String EVENTS = "SELECT event_id, event_type, aggregate_id, version, event_time, status, total, "
            + "item_skus FROM order_events WHERE currency = ? AND event_time >= ? ORDER BY aggregate_id, version, sequence";
    static final String REVENUE = "SELECT day, status, currency, orders, revenue FROM daily_revenue WHERE currency = ? "
            + "ORDER BY day, status";
    static final String DDL = "CREATE TABLE compat_probe (x UInt8) ENGINE = Memory";

    public static void main(String[] args) throws Exception {
        String url = args[0];
        Properties properties = new Properties();
        properties.setProperty("user", args[1]);
        properties.setProperty("password", System.getenv().getOrDefault("CLICKHOUSE_PASSWORD", ""));
        String currency = args[2];
        LocalDateTime since = LocalDateTime.parse(args[3].replace(' ', 'T'));
        String writeTable = args[4];

        Map<String, Object> out = new LinkedHashMap<>();
        try (Connection connection = DriverManager.getConnection(url, properties)) {
            DatabaseMetaData metadata = connection.getMetaData();
            out.put("server", metadata.getDatabaseProductVersion());
            String database = connection.getSchema();
            try (PreparedStatement events = connection.prepareStatement(EVENTS)) {
                events.setString(1, currency);
                events.setObject(2, since);
                List<String> types = new ArrayList<>();
                out.put("events", rows(events.executeQuery(), types));
                out.put("event_types", types);
            }
            try (PreparedStatement revenue = connection.prepareStatement(REVENUE)) {
                revenue.setString(1, currency);
                out.put("revenue", rows(revenue.executeQuery(), new ArrayList<>()));
            }
            out.put("database", database);
            out.put("tables", columns(metadata.getTables(null, database, "%", null), "TABLE_NAME", "TABLE_TYPE"));
            out.put("columns", columns(metadata.getColumns(null, database, "order_events", "%"), "COLUMN_NAME", "TYPE_NAME"));
            // What a database browser (DBeaver's navigator) asks for besides tables and columns.
            out.put("schemas", columns(metadata.getSchemas(), "TABLE_SCHEM"));
            out.put("table_types", columns(metadata.getTableTypes(), "TABLE_TYPE"));
            out.put("type_info", columns(metadata.getTypeInfo(), "TYPE_NAME").size());
            out.put("primary_keys", columns(metadata.getPrimaryKeys(null, database, writeTable), "COLUMN_NAME"));
            out.put("functions", columns(metadata.getFunctions(null, null, "%"), "FUNCTION_NAME").size());
            out.put("ddl", refused(() -> {
                try (Statement statement = connection.createStatement()) {
                    statement.execute(DDL);
                }
            }));
            out.put("write", refused(() -> {
                try (PreparedStatement insert = connection.prepareStatement(
                        "INSERT INTO " + writeTable + " (aggregate_id) VALUES (?)")) {
                    insert.setString(1, "compat-probe");
                    insert.addBatch();
                    insert.executeBatch();
                }
            }));
        }
        System.out.println(json(out));
    }

    interface Action {
        void run() throws SQLException;
    }

    static Map<String, Object> refused(Action action) {
        try {
            action.run();
        } catch (SQLException error) {
            Map<String, Object> refusal = new LinkedHashMap<>();
            SQLException coded = error;
            for (Throwable cause = error; cause != null; cause = cause.getCause()) {
                if (cause instanceof SQLException && ((SQLException) cause).getErrorCode() != 0) {
                    coded = (SQLException) cause;
                    break;
                }
            }
            refusal.put("code", coded.getErrorCode());
            refusal.put("message", String.valueOf(coded.getMessage()));
            return refusal;
        }
        throw new IllegalStateException("the statement was accepted; a read-only user must be refused");
    }

    static List<Object> rows(ResultSet result, List<String> types) throws SQLException {
        try (result) {
            ResultSetMetaData metadata = result.getMetaData();
            for (int column = 1; column <= metadata.getColumnCount(); column++) {
                types.add(metadata.getColumnTypeName(column));
            }
            List<Object> rows = new ArrayList<>();
            while (result.next()) {
                List<Object> row = new ArrayList<>();
                for (int column = 1; column <= metadata.getColumnCount(); column++) {
                    row.add(neutral(result.getObject(column)));
                }
                rows.add(row);
            }
            return rows;
        }
    }

    static List<Object> columns(ResultSet result, String... names) throws SQLException {
        try (result) {
            List<Object> rows = new ArrayList<>();
            while (result.next()) {
                List<Object> row = new ArrayList<>();
                for (String name : names) {
                    row.add(result.getString(name));
                }
                rows.add(row);
            }
            return rows;
        }
    }

    // Decimals as fixed-scale strings, integers as strings, instants as epoch milliseconds, dates as ISO days,
    // arrays as lists: the suite's neutral form, the same in every client.
    static Object neutral(Object value) throws SQLException {
        if (value == null || value instanceof String || value instanceof Boolean) {
            return value;
        }
        if (value instanceof BigDecimal) {
            return ((BigDecimal) value).toPlainString();
        }
        if (value instanceof Byte || value instanceof Short || value instanceof Integer || value instanceof Long
                || value instanceof BigInteger) {
            return value.toString();
        }
        if (value instanceof Number || value instanceof UUID) {
            return value instanceof UUID ? value.toString() : value;
        }
        if (value instanceof java.sql.Timestamp) {
            return ((java.sql.Timestamp) value).getTime();
        }
        if (value instanceof java.sql.Date) {
            return ((java.sql.Date) value).toLocalDate().toString();
        }
        if (value instanceof LocalDate) {
            return value.toString();
        }
        if (value instanceof ZonedDateTime) {
            return ((ZonedDateTime) value).toInstant().toEpochMilli();
        }
        if (value instanceof OffsetDateTime) {
            return ((OffsetDateTime) value).toInstant().toEpochMilli();
        }
        if (value instanceof LocalDateTime) { // the server's and the columns' time zone is UTC
            return ((LocalDateTime) value).toInstant(ZoneOffset.UTC).toEpochMilli();
        }
        if (value instanceof java.sql.Array) {
            return neutral(((java.sql.Array) value).getArray());
        }
        if (value instanceof Collection) {
            List<Object> list = new ArrayList<>();
            for (Object item : (Collection<?>) value) {
                list.add(neutral(item));
            }
            return list;
        }
        if (value.getClass().isArray()) {
            List<Object> list = new ArrayList<>();
            for (int index = 0; index < Array.getLength(value); index++) {
                list.add(neutral(Array.get(value, index)));
            }
            return list;
        }
        return value.getClass().getName() + ":" + value;
    }

    static String json(Object value) {
        if (value == null) {
            return "null";
        }
        if (value instanceof Number || value instanceof Boolean) {
            return value.toString();
        }
        if (value instanceof Map) {
            StringBuilder text = new StringBuilder("{");
            for (Map.Entry<?, ?> entry : ((Map<?, ?>) value).entrySet()) {
                text.append(text.length() > 1 ? "," : "").append(json(entry.getKey())).append(':').append(json(entry.getValue()));
            }
            return text.append('}').toString();
        }
        if (value instanceof List) {
            StringBuilder text = new StringBuilder("[");
            for (Object item : (List<?>) value) {
                text.append(text.length() > 1 ? "," : "").append(json(item));
            }
            return text.append(']').toString();
        }
        StringBuilder text = new StringBuilder("\"");
        for (char c : value.toString().toCharArray()) {
            if (c == '"' || c == '\\') {
                text.append('\\').append(c);
            } else if (c < 0x20) {
                text.append(String.format("\\u%04x", (int) c));
            } else {
                text.append(c);
            }
        }
        return text.append('"').toString();
    }
}
