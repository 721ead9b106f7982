import {
  Migrator,
  PostgresAdapter,
  sql,
  type Kysely,
  type Migration,
  type MigrationProvider,
} from 'kysely';

/**
 * Migrations are code, kept in order here. Kysely's Migrator takes a lock (a lock table row, held
 * in a transaction) so several processes starting at once on one PostgreSQL migrate exactly once.
 */
const migrations: Record<string, Migration> = {
  '0001-initial': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('environments')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('tier', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('signing_keys')
        .addColumn('kid', 'text', (c) => c.primaryKey())
        .addColumn('environment', 'text', (c) => c.notNull().references('environments.name'))
        .addColumn('alg', 'text', (c) => c.notNull())
        .addColumn('private_jwk', 'text', (c) => c.notNull())
        .addColumn('public_jwk', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('signing_keys_environment')
        .on('signing_keys')
        .column('environment')
        .execute();

      await db.schema
        .createTable('clients')
        .addColumn('client_id', 'text', (c) => c.primaryKey())
        .addColumn('environment', 'text', (c) => c.notNull().references('environments.name'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('secret_hash', 'text')
        .addColumn('redirect_uris', 'text', (c) => c.notNull())
        .addColumn('grant_types', 'text', (c) => c.notNull())
        .addColumn('skip_consent', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('clients_environment')
        .on('clients')
        .column('environment')
        .execute();

      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('environment', 'text', (c) => c.notNull().references('environments.name'))
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('email_key', 'text', (c) => c.notNull())
        .addColumn('name', 'text')
        .addColumn('password_hash', 'text')
        .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('users_environment_email', ['environment', 'email_key'])
        .execute();

      await db.schema
        .createTable('sessions')
        .addColumn('id_hash', 'text', (c) => c.primaryKey())
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('auth_time', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('consents')
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('consents_pk', ['environment', 'user_id', 'client_id'])
        .execute();

      await db.schema
        .createTable('authorization_requests')
        .addColumn('id_hash', 'text', (c) => c.primaryKey())
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('params', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('authorization_codes')
        .addColumn('code_hash', 'text', (c) => c.primaryKey())
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('redirect_uri', 'text', (c) => c.notNull())
        .addColumn('code_challenge', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('nonce', 'text')
        .addColumn('resource', 'text')
        .addColumn('auth_time', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('consumed_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('refresh_tokens')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('family_id', 'text', (c) => c.notNull())
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('resource', 'text')
        .addColumn('auth_time', 'bigint', (c) => c.notNull())
        .addColumn('code_hash', 'text')
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('rotated_at', 'bigint')
        .addColumn('revoked_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('refresh_tokens_family')
        .on('refresh_tokens')
        .column('family_id')
        .execute();
      await db.schema
        .createIndex('refresh_tokens_code')
        .on('refresh_tokens')
        .column('code_hash')
        .execute();

      await db.schema
        .createTable('access_tokens')
        .addColumn('jti', 'text', (c) => c.primaryKey())
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text')
        .addColumn('family_id', 'text')
        .addColumn('code_hash', 'text')
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('access_tokens_family')
        .on('access_tokens')
        .column('family_id')
        .execute();
      await db.schema
        .createIndex('access_tokens_code')
        .on('access_tokens')
        .column('code_hash')
        .execute();

      await db.schema
        .createTable('audit_log')
        .addColumn('seq', 'bigint', (c) => c.primaryKey())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('environment', 'text')
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text')
        .addColumn('user_id', 'text')
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('audit_log_environment')
        .on('audit_log')
        .columns(['environment', 'seq'])
        .execute();
    },
  },
  '0002-revocations': {
    async up(db: Kysely<unknown>) {
      // A revoked family or replayed code, remembered on its own: tokens a concurrent request
      // stores after the revocation are dead on arrival, because every use checks this table.
      await db.schema
        .createTable('revocations')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('revocations_pk', ['kind', 'key'])
        .execute();
    },
  },
  '0003-device-codes': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('device_codes')
        .addColumn('device_code_hash', 'text', (c) => c.primaryKey())
        .addColumn('user_code', 'text', (c) => c.notNull())
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('resource', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text')
        .addColumn('auth_time', 'bigint')
        .addColumn('interval_s', 'integer', (c) => c.notNull())
        .addColumn('last_polled_at', 'bigint')
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('device_codes_user_code', ['environment', 'user_code'])
        .execute();
    },
  },
  '0004-admin': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('operators')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('email_key', 'text', (c) => c.notNull().unique())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('operator_sessions')
        .addColumn('id_hash', 'text', (c) => c.primaryKey())
        .addColumn('operator_id', 'text', (c) => c.notNull())
        .addColumn('csrf_token', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .alterTable('environments')
        .addColumn('impersonation_enabled', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      // uri -> expiry (ms); URIs without an entry never expire.
      await db.schema
        .alterTable('clients')
        .addColumn('redirect_uri_expiries', 'text', (c) => c.notNull().defaultTo('{}'))
        .execute();
      await db.schema.alterTable('clients').addColumn('managed_by', 'text').execute();
      await db.schema.alterTable('clients').addColumn('promoted_from', 'text').execute();
      await db.schema
        .createTable('refused_redirects')
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('redirect_uri', 'text', (c) => c.notNull())
        .addColumn('policy_code', 'text', (c) => c.notNull())
        .addColumn('count', 'bigint', (c) => c.notNull())
        .addColumn('first_seen_at', 'bigint', (c) => c.notNull())
        .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('refused_redirects_pk', [
          'environment',
          'client_id',
          'redirect_uri',
        ])
        .execute();
      await db.schema
        .createTable('impersonations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('operator_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('cookie_hash', 'text', (c) => c.notNull().unique())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('ended_at', 'bigint')
        .addColumn('end_reason', 'text')
        .execute();
      for (const table of ['authorization_codes', 'refresh_tokens', 'access_tokens']) {
        await db.schema.alterTable(table).addColumn('impersonation_id', 'text').execute();
      }
    },
  },
  '0005-dynamic-clients-and-resources': {
    async up(db: Kysely<unknown>) {
      // How the client came to be: `registered` by an operator, `dynamic` (RFC 7591) or
      // `metadata_document` (a Client ID Metadata Document, fetched by URL).
      await db.schema
        .alterTable('clients')
        .addColumn('kind', 'text', (c) => c.notNull().defaultTo('registered'))
        .execute();
      // RFC 7591 metadata Gatehouse keeps beyond its own columns (client_uri, application_type...).
      await db.schema
        .alterTable('clients')
        .addColumn('metadata', 'text', (c) => c.notNull().defaultTo('{}'))
        .execute();
      await db.schema.alterTable('clients').addColumn('registration_token_hash', 'text').execute();
      await db.schema.alterTable('clients').addColumn('fetched_at', 'bigint').execute();
      // JSON lists; null means "whatever the environment allows" / "none".
      await db.schema.alterTable('clients').addColumn('allowed_resources', 'text').execute();
      await db.schema.alterTable('clients').addColumn('exchange_audiences', 'text').execute();
      // `open`, `token` (an initial access token is required) or `off`.
      await db.schema
        .alterTable('environments')
        .addColumn('registration', 'text', (c) => c.notNull().defaultTo('token'))
        .execute();
      // Open by default in development, protected elsewhere.
      await sql`update environments set registration = 'open' where tier = 'development'`.execute(
        db,
      );
      await db.schema
        .alterTable('environments')
        .addColumn('allow_loopback_documents', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .createTable('resources')
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('uri', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('resources_pk', ['environment', 'uri'])
        .execute();
      await db.schema
        .createTable('initial_access_tokens')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  '0006-key-rotation-and-shared-limits': {
    async up(db: Kysely<unknown>) {
      // A key signs from `activates_at` (published in the JWKS before that); `retired_at` ends it.
      await db.schema.alterTable('signing_keys').addColumn('activates_at', 'bigint').execute();
      await db.schema.alterTable('signing_keys').addColumn('retired_at', 'bigint').execute();
      // Failed attempts (sign-in and the like), shared by every process on this database.
      await db.schema
        .createTable('attempts')
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('attempts_key_at')
        .on('attempts')
        .columns(['key', 'at'])
        .execute();
    },
  },
  '0007-audit-append-function': {
    async up(db: Kysely<unknown>) {
      if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
      // PostgreSQL: a batch of audit entries chained and inserted in one statement, so a group
      // commit is one round trip instead of six (src/storage/audit/postgres-batch.ts). Each
      // element carries `middle`, the entry's JSON without seq and prev_hash: the hash is SHA-256
      // of '[' || seq || ',' || middle || ',"' || prev_hash || '"]', which is exactly the text
      // chainHash() hashes, so `gatehouse audit verify` checks these entries like any other. The
      // lock is taken before the newest entry is read; in a function each statement sees what
      // was committed before it, so the read sees every batch that held the lock before.
      await sql`
        create or replace function gatehouse_audit_append(entries jsonb)
        returns table (out_seq bigint, out_prev text, out_hash text)
        language plpgsql volatile as $$
        declare
          last_seq bigint;
          last_hash text;
          entry jsonb;
        begin
          perform pg_advisory_xact_lock(7310202611);
          select a.seq, a.hash into last_seq, last_hash
            from audit_log a order by a.seq desc limit 1;
          last_seq := coalesce(last_seq, 0);
          last_hash := coalesce(last_hash, repeat('0', 64));
          for entry in select value from jsonb_array_elements(entries) loop
            last_seq := last_seq + 1;
            out_seq := last_seq;
            out_prev := last_hash;
            out_hash := encode(sha256(convert_to(
              '[' || last_seq || ',' || (entry->>'middle') || ',"' || last_hash || '"]', 'UTF8')), 'hex');
            insert into audit_log (seq, at, environment, type, actor, client_id, user_id, data,
                                   prev_hash, hash)
              values (last_seq, (entry->>'at')::bigint, entry->>'environment', entry->>'type',
                      entry->>'actor', entry->>'client_id', entry->>'user_id', entry->>'data',
                      last_hash, out_hash);
            last_hash := out_hash;
            return next;
          end loop;
        end
        $$`.execute(db);
    },
  },
  '0008-attempt-counters': {
    async up(db: Kysely<unknown>) {
      // Attempts counted per key in a window, one row a key, so that reserving an attempt is one
      // upsert returning the new count (src/storage/attempts.ts): concurrent attempts can no
      // longer all pass a count read before any of them was recorded (issue #13). The old
      // per-attempt rows in `attempts` are only a few minutes' worth: left, no longer read.
      await db.schema
        .createTable('attempt_counters')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addColumn('opened_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('attempt_counters_expires_at')
        .on('attempt_counters')
        .column('expires_at')
        .execute();
    },
  },
  '0009-tokens-only-for-what-was-given': {
    async up(db: Kysely<unknown>) {
      // Issue #13, item 6. The scopes a client may ask for without a resource (client_credentials),
      // a JSON list; existing clients are registered for none.
      await db.schema
        .alterTable('clients')
        .addColumn('scopes', 'text', (c) => c.notNull().defaultTo('[]'))
        .execute();
      // 0/1: whether the authorization request carried redirect_uri, so the token request must
      // carry it too (RFC 6749 §4.1.3). Codes in flight live a minute: they count as not sent.
      await db.schema
        .alterTable('authorization_codes')
        .addColumn('redirect_uri_sent', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      // 0/1: whether Client ID Metadata Documents are accepted here; only where allowed
      // explicitly. Development environments that accepted them keep doing so.
      await db.schema
        .alterTable('environments')
        .addColumn('metadata_documents', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await sql`update environments set metadata_documents = 1
        where tier = 'development' and registration <> 'off'`.execute(db);
    },
  },
  '0010-keyed-audit-chain': {
    async up(db: Kysely<unknown>) {
      // Issue #13, item 4. Where each export sink that cannot remember its own position (stdout)
      // has got to (src/services/audit-export.ts).
      await db.schema
        .createTable('audit_export_cursors')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
      // Entries are MACed under a key derived from the server secret (src/storage/audit/chain.ts),
      // which must never reach the database: the process computes every hash, and this function
      // only checks, under the chain's advisory lock, that the newest entry is still the one the
      // hashes were computed after, and inserts them. If another process appended meanwhile it
      // raises GH001 with the actual head (DETAIL, JSON): the statement, the batch's other rows
      // with it, is rolled back, and the process recomputes and sends it again.
      await sql`
        create or replace function gatehouse_audit_append_chained(
          expected_seq bigint, expected_hash text, entries jsonb)
        returns void
        language plpgsql volatile as $$
        declare
          last_seq bigint;
          last_hash text;
        begin
          perform pg_advisory_xact_lock(7310202611);
          select a.seq, a.hash into last_seq, last_hash
            from audit_log a order by a.seq desc limit 1;
          last_seq := coalesce(last_seq, 0);
          last_hash := coalesce(last_hash, repeat('0', 64));
          if last_seq <> expected_seq or last_hash <> expected_hash then
            raise exception 'the audit chain has moved on'
              using errcode = 'GH001',
                    detail = json_build_object('seq', last_seq, 'hash', last_hash)::text;
          end if;
          insert into audit_log (seq, at, environment, type, actor, client_id, user_id, data,
                                 prev_hash, hash)
            select e.seq, e.at, e.environment, e.type, e.actor, e.client_id, e.user_id, e.data,
                   e.prev_hash, e.hash
              from jsonb_to_recordset(entries) as e(seq bigint, at bigint, environment text,
                type text, actor text, client_id text, user_id text, data text, prev_hash text,
                hash text)
              order by e.seq;
        end
        $$`.execute(db);
      // A process of an older version would chain unkeyed entries after keyed ones, which verify
      // must call tampering: its appends fail instead, with a message that says why.
      await sql`
        create or replace function gatehouse_audit_append(entries jsonb)
        returns table (out_seq bigint, out_prev text, out_hash text)
        language plpgsql volatile as $$
        begin
          raise exception 'the audit chain is keyed since migration 0010: this Gatehouse process is older than its database; restart it with the current version';
        end
        $$`.execute(db);
    },
  },
  '0011-housekeeping': {
    async up(db: Kysely<unknown>) {
      // Issue #14: housekeeping finds what has expired by an index (src/storage/expired.ts).
      const byColumn: [string, string][] = [
        ['access_tokens', 'expires_at'],
        ['refresh_tokens', 'expires_at'],
        ['authorization_codes', 'expires_at'],
        ['sessions', 'expires_at'],
        ['operator_sessions', 'expires_at'],
        ['device_codes', 'expires_at'],
        ['authorization_requests', 'expires_at'],
        ['initial_access_tokens', 'expires_at'],
        ['refused_redirects', 'last_seen_at'],
        ['revocations', 'revoked_at'],
      ];
      for (const [table, column] of byColumn)
        await db.schema.createIndex(`${table}_${column}`).on(table).column(column).execute();
      await sql`create index refresh_tokens_revoked on refresh_tokens (revoked_at) where revoked_at is not null`.execute(
        db,
      );
      // Audit retention (src/storage/audit/anchor.ts): where the chain starts once its oldest
      // entries were exported and removed. One row, MACed under the chain key.
      await db.schema
        .createTable('audit_anchor')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('first_seq', 'bigint', (c) => c.notNull())
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('removed', 'bigint', (c) => c.notNull())
        .addColumn('removed_at', 'bigint', (c) => c.notNull())
        .addColumn('mac', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0012-revocation-events': {
    async up(db: Kysely<unknown>) {
      // Issue #15: revocations as events (src/storage/revocation-events.ts), read by the feed that
      // resource servers follow. `seq` only grows, so a reader's cursor is a number.
      const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
      await db.schema
        .createTable('revocation_events')
        .addColumn('seq', postgres ? 'bigserial' : 'integer', (c) =>
          // SQLite: AUTOINCREMENT never reuses the seq of a removed newest event.
          postgres ? c.primaryKey() : c.primaryKey().autoIncrement(),
        )
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('issued_before', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('revocation_events_feed')
        .on('revocation_events')
        .columns(['environment', 'seq'])
        .execute();
      await db.schema
        .createIndex('revocation_events_key')
        .on('revocation_events')
        .columns(['environment', 'kind', 'key'])
        .execute();
      await db.schema
        .createIndex('revocation_events_expires_at')
        .on('revocation_events')
        .column('expires_at')
        .execute();
      // The client acting for a resource: it introspects tokens for it and reads the feed.
      await db.schema.alterTable('resources').addColumn('client_id', 'text').execute();
      // The grant a code was spent on, so a replay revokes that grant's tokens, which no longer
      // have rows of their own; and token exchange finds the client the grant was made to.
      await db.schema.alterTable('authorization_codes').addColumn('grant_id', 'text').execute();
      await db.schema
        .createIndex('authorization_codes_grant')
        .on('authorization_codes')
        .column('grant_id')
        .execute();
      // Access tokens are no longer rows: every one revoked and unexpired becomes a `token` event,
      // so nothing revoked comes back. Revoked is its row's mark or a family, code or
      // impersonation revocation recorded after it was stored (what storage/tokens.ts read).
      // Each event lasts until a minute past the token's expiry.
      const now = Date.now();
      await sql`
        insert into revocation_events (environment, kind, key, issued_before, expires_at, created_at)
        select a.environment, 'token', a.jti, ${now}, a.expires_at + 60000, ${now}
          from access_tokens a
         where a.expires_at > ${now}
           and (a.revoked_at is not null
                or exists (select 1 from revocations r
                            where (r.kind = 'family' and r.key = a.family_id)
                               or (r.kind = 'code' and r.key = a.code_hash)
                               or (r.kind = 'impersonation' and r.key = a.impersonation_id)))
         order by a.created_at`.execute(db);
    },
  },
  '0013-oidc-completeness': {
    async up(db: Kysely<unknown>) {
      // Issue #16: what any standards-compliant relying party expects.
      // Client metadata (OIDC Registration §2, RP-Initiated Logout §3.1, Back-Channel Logout §2.2,
      // RFC 7523, RFC 9126 §6). A null alg means the OIDC default, RS256; a null auth method
      // means the one the client's type implies (a secret, or none for a public client).
      for (const [column, type] of [
        ['id_token_signed_response_alg', 'text'],
        ['backchannel_logout_uri', 'text'],
        ['jwks', 'text'],
        ['jwks_uri', 'text'],
        ['token_endpoint_auth_method', 'text'],
      ] as const)
        await db.schema.alterTable('clients').addColumn(column, type).execute();
      await db.schema
        .alterTable('clients')
        .addColumn('post_logout_redirect_uris', 'text', (c) => c.notNull().defaultTo('[]'))
        .execute();
      await db.schema
        .alterTable('clients')
        .addColumn('require_par', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      // OAuth 2.1 §7.5.1: a confidential OIDC client using `nonce` may go without PKCE, by
      // exception, off unless an operator turns it on.
      await db.schema
        .alterTable('clients')
        .addColumn('pkce_exempt_with_nonce', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      // A resource may ask for its access tokens signed with another algorithm (RS256).
      await db.schema.alterTable('resources').addColumn('access_token_alg', 'text').execute();
      await db.schema
        .alterTable('environments')
        .addColumn('require_par', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .alterTable('users')
        .addColumn('email_verified', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      // A session's public identifier (the ID token's `sid`, OIDC Back-Channel Logout §2.1),
      // unrelated to its cookie: sessions from before 0013 have none.
      await db.schema.alterTable('sessions').addColumn('sid', 'text').execute();
      await db.schema
        .createIndex('sessions_sid')
        .on('sessions')
        .columns(['environment', 'sid'])
        .execute();
      // What an ID token issued later from a code or refresh token says of the sign-in
      // (`sid`, `amr`, `acr`), as JSON.
      for (const table of ['authorization_codes', 'refresh_tokens', 'device_codes'])
        await db.schema.alterTable(table).addColumn('session_claims', 'text').execute();
      // The clients a session signed in to: who gets a logout token when it ends.
      await db.schema
        .createTable('session_clients')
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('sid', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('session_clients_pk', ['environment', 'sid', 'client_id'])
        .execute();
      await db.schema
        .createIndex('session_clients_expires_at')
        .on('session_clients')
        .column('expires_at')
        .execute();
      // A user disabled or deleted: every client of every one of their sessions is told.
      await db.schema
        .createIndex('session_clients_user')
        .on('session_clients')
        .columns(['environment', 'user_id'])
        .execute();
      // Back-Channel Logout deliveries, retried until delivered or given up.
      await db.schema
        .createTable('logout_deliveries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('uri', 'text', (c) => c.notNull())
        .addColumn('sub', 'text', (c) => c.notNull())
        .addColumn('sid', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('logout_deliveries_due')
        .on('logout_deliveries')
        .columns(['status', 'next_attempt_at'])
        .execute();
      // RFC 7523 §3 (7): a client assertion's `jti` is used once, across processes.
      await db.schema
        .createTable('client_assertion_jtis')
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('jti', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('client_assertion_jtis_pk', ['environment', 'client_id', 'jti'])
        .execute();
      await db.schema
        .createIndex('client_assertion_jtis_expires_at')
        .on('client_assertion_jtis')
        .column('expires_at')
        .execute();
      // RFC 9126: pushed authorization requests, by the hash of their request_uri, used once.
      await db.schema
        .createTable('pushed_authorization_requests')
        .addColumn('request_uri_hash', 'text', (c) => c.primaryKey())
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('params', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('consumed_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('pushed_authorization_requests_expires_at')
        .on('pushed_authorization_requests')
        .column('expires_at')
        .execute();
    },
  },
  '0014-device-bound-tokens': {
    async up(db: Kysely<unknown>) {
      // Issue #17. RFC 9449 (DPoP): a client or a whole environment may require proof-of-possession
      // at the token endpoint; off unless set (the service turns it on for new public clients in
      // production).
      await db.schema
        .alterTable('clients')
        .addColumn('require_dpop', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .alterTable('environments')
        .addColumn('require_dpop', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      // How long (seconds) a just-rotated refresh token still gets a successor for the same client
      // (and DPoP key) instead of being treated as stolen; 0 turns the grace off.
      await db.schema
        .alterTable('environments')
        .addColumn('refresh_grace_seconds', 'integer', (c) => c.notNull().defaultTo(5))
        .execute();
      // RFC 9449 §10: the JWK thumbprint a code is bound to (`dpop_jkt` at /authorize or PAR).
      await db.schema.alterTable('authorization_codes').addColumn('dpop_jkt', 'text').execute();
      // RFC 9449 §5: a public client's refresh tokens are bound to the key of the proof they were
      // issued with; `grace_successors` counts the successors handed out in the grace window.
      await db.schema.alterTable('refresh_tokens').addColumn('dpop_jkt', 'text').execute();
      await db.schema
        .alterTable('refresh_tokens')
        .addColumn('grace_successors', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      // RFC 9449 §11.1: a proof's `jti` is accepted once per key, across processes, for as long as
      // its `iat` is inside the accepted window.
      await db.schema
        .createTable('dpop_proof_jtis')
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('jkt', 'text', (c) => c.notNull())
        .addColumn('jti', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('dpop_proof_jtis_pk', ['environment', 'jkt', 'jti'])
        .execute();
      await db.schema
        .createIndex('dpop_proof_jtis_expires_at')
        .on('dpop_proof_jtis')
        .column('expires_at')
        .execute();
      // The account page (/e/<env>/account) reads one user's sessions, refresh tokens and codes,
      // and an agent's newest `token.exchanged` entry for the user, on every visit: seeks on the
      // user (and client), never a walk of tables a long-running server grows large.
      const byUser: [string, string[]][] = [
        ['sessions_user', ['sessions', 'environment', 'user_id']],
        ['refresh_tokens_user', ['refresh_tokens', 'environment', 'user_id']],
        ['authorization_codes_user', ['authorization_codes', 'environment', 'user_id']],
        [
          'audit_log_client_user',
          ['audit_log', 'environment', 'client_id', 'user_id', 'type', 'seq'],
        ],
      ];
      // The grant a device code was spent on, recorded with the spend (as a code's grant_id): the
      // account page's revocation reads it, so a poll whose tokens are stored a moment after the
      // revocation has its grant revoked too.
      await db.schema.alterTable('device_codes').addColumn('grant_id', 'text').execute();
      for (const [name, [table = '', ...columns]] of byUser)
        await db.schema.createIndex(name).on(table).columns(columns).execute();
    },
  },
  '0015-redirect-governance': {
    async up(db: Kysely<unknown>) {
      // Issue #18. Which loopback hosts redirect URIs may name in an environment (JSON list);
      // null keeps today's rule: 127.0.0.1, [::1] and localhost.
      await db.schema.alterTable('environments').addColumn('loopback_hosts', 'text').execute();
      // The redirect inventory: one row per registered redirect or post-logout URI, with who
      // registered it and how, and its use, counted in memory and added here in batches.
      await db.schema
        .createTable('redirect_registrations')
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('uri', 'text', (c) => c.notNull())
        .addColumn('registered_at', 'bigint', (c) => c.notNull())
        .addColumn('registered_by', 'text')
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('last_used_at', 'bigint')
        .addColumn('use_count', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('request_count', 'bigint', (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint('redirect_registrations_pk', [
          'environment',
          'client_id',
          'kind',
          'uri',
        ])
        .execute();
      // What is registered already gets a row: when is the client's creation (the best known),
      // who is unknown, how follows from the kind of client.
      const clients = await sql<{
        environment: string;
        client_id: string;
        kind: string;
        managed_by: string | null;
        promoted_from: string | null;
        redirect_uris: string;
        post_logout_redirect_uris: string;
        created_at: number | string;
      }>`select environment, client_id, kind, managed_by, promoted_from, redirect_uris, post_logout_redirect_uris, created_at from clients`.execute(
        db,
      );
      for (const client of clients.rows) {
        const channel =
          client.kind === 'dynamic' || client.kind === 'metadata_document'
            ? client.kind
            : client.managed_by !== null
              ? 'declarative'
              : client.promoted_from !== null
                ? 'promotion'
                : 'unknown';
        const lists: [string, string][] = [
          ['redirect', client.redirect_uris],
          ['post_logout', client.post_logout_redirect_uris],
        ];
        for (const [kind, text] of lists) {
          const uris = [...new Set(JSON.parse(text) as string[])];
          for (const uri of uris)
            await sql`insert into redirect_registrations (environment, client_id, kind, uri, registered_at, registered_by, channel) values (${client.environment}, ${client.client_id}, ${kind}, ${uri}, ${Number(client.created_at)}, ${null}, ${channel})`.execute(
              db,
            );
        }
      }
    },
  },
  '0016-post-logout-near-misses': {
    async up(db: Kysely<unknown>) {
      // Issue #18: refused post_logout_redirect_uri values, counted like refused redirect URIs,
      // so the inventory shows the near misses of post-logout URIs too. A table apart: these are
      // never offered for registration as redirect URIs (the console's refused redirects).
      await db.schema
        .createTable('refused_post_logout_redirects')
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('redirect_uri', 'text', (c) => c.notNull())
        .addColumn('policy_code', 'text', (c) => c.notNull())
        .addColumn('count', 'bigint', (c) => c.notNull())
        .addColumn('first_seen_at', 'bigint', (c) => c.notNull())
        .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('refused_post_logout_redirects_pk', [
          'environment',
          'client_id',
          'redirect_uri',
        ])
        .execute();
      // Housekeeping finds what has aged out by an index (src/storage/expired.ts).
      await db.schema
        .createIndex('refused_post_logout_redirects_last_seen_at')
        .on('refused_post_logout_redirects')
        .column('last_seen_at')
        .execute();
    },
  },
};

const provider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};

/**
 * Thrown when the database carries migrations this code does not know: a newer Gatehouse migrated
 * it. Nothing is changed; the message says what to do.
 */
export class DatabaseNewerThanCodeError extends Error {
  constructor(
    readonly location: string,
    readonly unknown: readonly string[],
  ) {
    super(
      `the database at ${location} was migrated by a newer Gatehouse (migration ${unknown.join(', ')}); upgrade Gatehouse or restore a backup`,
    );
    this.name = 'DatabaseNewerThanCodeError';
  }
}

/** The names of the migrations a database records as applied (none when it is fresh). */
async function appliedMigrations(db: Kysely<unknown>): Promise<string[]> {
  try {
    const rows = await sql<{
      name: string;
    }>`select name from ${sql.table(MIGRATION_TABLE)}`.execute(db);
    return rows.rows.map((r) => r.name);
  } catch (error) {
    // A fresh database has no migration table yet (SQLite: "no such table"; PostgreSQL: 42P01).
    const code = (error as { code?: unknown }).code;
    if (code === '42P01' || /no such table/.test((error as Error).message)) return [];
    throw error;
  }
}

/**
 * Refuses a database a newer Gatehouse has migrated: its schema may have moved in ways this code
 * would misread or corrupt (Kysely's migrator would only say "corrupted migrations").
 */
export async function refuseNewerDatabase(db: Kysely<unknown>, location: string): Promise<void> {
  const unknown = (await appliedMigrations(db)).filter((name) => !(name in migrations)).sort();
  if (unknown.length > 0) throw new DatabaseNewerThanCodeError(location, unknown);
}

const MIGRATION_TABLE = 'gatehouse_migrations';

/** The migrations this code knows, in order. */
export function knownMigrations(): string[] {
  return Object.keys(migrations).sort();
}

/** Brings the schema up to date. Throws with the failing migration's name if one fails. */
export async function migrateToLatest(
  db: Kysely<unknown>,
  location = 'this location',
): Promise<void> {
  await refuseNewerDatabase(db, location);
  const migrator = new Migrator({
    db,
    provider,
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: 'gatehouse_migration_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    // A newer process may have migrated it meanwhile, while this one waited for the lock.
    await refuseNewerDatabase(db, location);
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(
      `database migration ${failed} failed: ${error instanceof Error ? error.message : 'unknown error'}`,
    );
  }
}
