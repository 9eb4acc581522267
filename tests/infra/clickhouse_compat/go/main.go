// Command compat drives the official ClickHouse Go driver (clickhouse-go/v2 over HTTP, through database/sql as
// Grafana's ClickHouse data source does) against a ClickHouse HTTP service and prints what it saw as one JSON
// object. The Python test (tests/infra/clickhouse_compat) compares that with what it expects.
//
// Usage: compat -addr 127.0.0.1:8123 -database analytics -currency EUR -since '2020-01-01 00:00:00'
// -write-table order_events_v1 [-compression none|lz4|zstd|gzip|deflate]; the password comes from
// CLICKHOUSE_PASSWORD, the user from -user (default analyst).
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"reflect"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// The SQL every client of the suite runs (the Java program and the Python test hold the same texts).
const (
	eventsSQL = "SELECT event_id, event_type, aggregate_id, version, event_time, status, total, item_skus " +
		"FROM order_events WHERE currency = ? AND event_time >= ? ORDER BY aggregate_id, version, sequence"
	revenueSQL = "SELECT day, status, currency, orders, revenue FROM daily_revenue WHERE currency = ? " +
		"ORDER BY day, status"
	tablesSQL  = "SELECT name, engine FROM system.tables WHERE database = ? ORDER BY name"
	columnsSQL = "SELECT name, type FROM system.columns WHERE database = ? AND table = ? ORDER BY position"
	ddlSQL     = "CREATE TABLE compat_probe (x UInt8) ENGINE = Memory"
)

type refusal struct {
	Code    int32  `json:"code"`
	Message string `json:"message"`
}

type report struct {
	Server     string   `json:"server"`
	Events     [][]any  `json:"events"`
	EventTypes []string `json:"event_types"`
	Revenue    [][]any  `json:"revenue"`
	Tables     [][]any  `json:"tables"`
	Columns    [][]any  `json:"columns"`
	Probe      [][]any  `json:"probe,omitempty"`
	DDL        *refusal `json:"ddl"`
	Write      *refusal `json:"write"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8123", "host:port of the HTTP interface")
	user := flag.String("user", "analyst", "user name")
	database := flag.String("database", "default", "default database of the connection")
	currency := flag.String("currency", "EUR", "currency parameter")
	since := flag.String("since", "2000-01-01 00:00:00", "event_time lower bound parameter (UTC)")
	writeTable := flag.String("write-table", "", "table the refused insert targets")
	compression := flag.String("compression", "none", "none (the driver's default), lz4, zstd, gzip or deflate")
	probe := flag.String("probe", "", "a query whose columns of many types the driver must decode")
	flag.Parse()

	options := &clickhouse.Options{
		Protocol: clickhouse.HTTP,
		Addr:     []string{*addr},
		Auth:     clickhouse.Auth{Database: *database, Username: *user, Password: os.Getenv("CLICKHOUSE_PASSWORD")},
	}
	if *compression != "none" {
		methods := map[string]clickhouse.CompressionMethod{
			"lz4": clickhouse.CompressionLZ4, "zstd": clickhouse.CompressionZSTD,
			"gzip": clickhouse.CompressionGZIP, "deflate": clickhouse.CompressionDeflate,
		}
		method, ok := methods[*compression]
		if !ok {
			fail("unknown compression %q", *compression)
		}
		options.Compression = &clickhouse.Compression{Method: method}
	}
	db := clickhouse.OpenDB(options)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var out report
	must(db.PingContext(ctx), "ping")
	must(db.QueryRowContext(ctx, "SELECT version()").Scan(&out.Server), "version")
	sinceTime, err := time.Parse("2006-01-02 15:04:05", *since)
	must(err, "since")
	out.Events, out.EventTypes = rows(ctx, db, eventsSQL, *currency, sinceTime)
	out.Revenue, _ = rows(ctx, db, revenueSQL, *currency)
	out.Tables, _ = rows(ctx, db, tablesSQL, *database)
	out.Columns, _ = rows(ctx, db, columnsSQL, *database, "order_events")
	if *probe != "" {
		out.Probe, _ = rows(ctx, db, *probe)
	}
	out.DDL = refused(exec(ctx, db, ddlSQL))
	out.Write = refused(insert(ctx, db, *writeTable))
	must(json.NewEncoder(os.Stdout).Encode(out), "encode")
}

// rows runs a query and returns its rows in the suite's neutral form, plus the database types of its columns.
func rows(ctx context.Context, db *sql.DB, query string, args ...any) ([][]any, []string) {
	result, err := db.QueryContext(ctx, query, args...)
	must(err, query)
	defer result.Close()
	types, err := result.ColumnTypes()
	must(err, "column types")
	names := make([]string, len(types))
	for i, t := range types {
		names[i] = t.DatabaseTypeName()
	}
	table := [][]any{}
	for result.Next() {
		targets := make([]any, len(types))
		for i, t := range types {
			targets[i] = reflect.New(t.ScanType()).Interface()
		}
		must(result.Scan(targets...), "scan")
		row := make([]any, len(types))
		for i, target := range targets {
			row[i] = neutral(reflect.ValueOf(target).Elem().Interface(), types[i])
		}
		table = append(table, row)
	}
	must(result.Err(), "rows")
	return table, names
}

// neutral: decimals as fixed-scale strings, instants as epoch milliseconds, dates as ISO days, UUIDs as text,
// arrays as lists; everything else as JSON encodes it.
func neutral(value any, column *sql.ColumnType) any {
	switch v := value.(type) {
	case decimal.Decimal:
		_, scale, _ := column.DecimalSize()
		return v.StringFixed(int32(scale))
	case time.Time:
		if column.DatabaseTypeName() == "Date" || column.DatabaseTypeName() == "Date32" {
			return v.Format("2006-01-02")
		}
		return v.UnixMilli()
	case uuid.UUID:
		return v.String()
	case []string:
		list := make([]any, len(v))
		for i, item := range v {
			list[i] = item
		}
		return list
	case uint64:
		return fmt.Sprint(v) // beyond JSON's exact integers
	case int64:
		return fmt.Sprint(v)
	default:
		return v
	}
}

func exec(ctx context.Context, db *sql.DB, statement string) error {
	_, err := db.ExecContext(ctx, statement)
	return err
}

// insert is what a tool's "add row" does: a one-row batch through the driver's insert path.
func insert(ctx context.Context, db *sql.DB, table string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after a failed Commit there is nothing to roll back
	batch, err := tx.PrepareContext(ctx, fmt.Sprintf("INSERT INTO %s (aggregate_id)", table))
	if err != nil {
		return err
	}
	if _, err := batch.ExecContext(ctx, "compat-probe"); err != nil {
		return err
	}
	return tx.Commit()
}

func refused(err error) *refusal {
	if err == nil {
		fail("the statement was accepted; a read-only user must be refused")
	}
	var exception *clickhouse.Exception
	if !errors.As(err, &exception) {
		fail("not a ClickHouse exception: %v", err)
	}
	return &refusal{Code: exception.Code, Message: exception.Message}
}

func must(err error, what string) {
	if err != nil {
		fail("%s: %v", what, err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "compat: "+format+"\n", args...)
	os.Exit(1)
}
