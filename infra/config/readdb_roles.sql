-- The roles of the list read model's database (readdb, `readmodels`), made as its owner (docs/security.md: least
-- privilege). The native stack runs this once readdb is up and the roles are missing (`infra/readdb_roles.py`);
-- docker-compose's readdb runs it as an init script.
--   cqrs_streams  the projection workers: create their schema (`lists`, or a sandbox's), own what is in it (the
--                 generation tables, the view a rebuild replaces, the `generations` table); nothing else;
--   cqrs_readapi  the read API's lists: read what cqrs_streams creates, write nothing.
-- The database holds the list read models only: a schema made as the owner before these roles existed (the stack
-- ran as `postgres` until then) passes to cqrs_streams. Roles belong to the cluster; no passwords, as for the write
-- model's roles (writer migration 0008_service_roles): loopback trust on the native stack, scram in a deployment.

DO $$
DECLARE
    role_name text;
BEGIN
    FOREACH role_name IN ARRAY ARRAY['cqrs_streams', 'cqrs_readapi'] LOOP
        BEGIN
            EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION', role_name);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- made already (or by a concurrent run)
        END;
    END LOOP;
    EXECUTE format('GRANT CONNECT, CREATE ON DATABASE %I TO cqrs_streams', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO cqrs_readapi', current_database());
END
$$;

-- PostgreSQL 15's default; stated for clusters upgraded from older ones.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- Whatever cqrs_streams creates later is readable, and only readable, by the read API: a new generation's table
-- needs no grant at switch time.
ALTER DEFAULT PRIVILEGES FOR ROLE cqrs_streams GRANT USAGE ON SCHEMAS TO cqrs_readapi;
ALTER DEFAULT PRIVILEGES FOR ROLE cqrs_streams GRANT SELECT ON TABLES TO cqrs_readapi;

DO $$
DECLARE
    schema_name name;
    relation record;
BEGIN
    FOR schema_name IN
        SELECT nspname FROM pg_namespace
        WHERE nspname NOT IN ('public', 'information_schema') AND nspname NOT LIKE 'pg\_%'
          AND nspowner <> 'cqrs_streams'::regrole
    LOOP
        EXECUTE format('ALTER SCHEMA %I OWNER TO cqrs_streams', schema_name);
        FOR relation IN
            SELECT relname, relkind FROM pg_class
            WHERE relnamespace = schema_name::regnamespace AND relkind IN ('r', 'p', 'v', 'm')
        LOOP
            EXECUTE format(
                'ALTER %s %I.%I OWNER TO cqrs_streams',
                CASE relation.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
                schema_name, relation.relname
            );
        END LOOP;
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO cqrs_readapi', schema_name);
        EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO cqrs_readapi', schema_name);
    END LOOP;
END
$$;
