DROP TABLE order_summary;
DROP TABLE orders;
DROP FUNCTION orders_reject_version_skip();
