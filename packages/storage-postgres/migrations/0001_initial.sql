-- byokit schema, version 1. {{table:x}} becomes the schema-qualified, prefixed table name (default
-- "public"."byokit_x") and {{name:x}} a prefixed index name, so byokit's tables sit beside the host's own.
-- Applied in one transaction, under an advisory lock (see src/migrate.ts).

-- Provider keys, encrypted. One per (owner, provider); the envelope is the only place a key exists.
CREATE TABLE {{table:provider_keys}} (
  owner_type    text        NOT NULL CHECK (owner_type IN ('user', 'system')),
  owner_id      text        NOT NULL CHECK (length(owner_id) BETWEEN 1 AND 255),
  provider      text        NOT NULL CHECK (provider IN ('anthropic', 'openai', 'google')),
  envelope      bytea       NOT NULL CHECK (length(envelope) BETWEEN 1 AND 8192),
  -- Mirrors the id in the envelope's header, so rotation progress is an indexed query.
  master_key_id text        NOT NULL CHECK (length(master_key_id) BETWEEN 1 AND 64),
  hint          text        NOT NULL CHECK (length(hint) <= 16),
  verification  text        NOT NULL DEFAULT 'unverified' CHECK (verification IN ('unverified', 'valid', 'invalid')),
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL,
  PRIMARY KEY (owner_type, owner_id, provider),
  CHECK (owner_type = 'user' OR owner_id = 'system')
);
CREATE INDEX {{name:provider_keys_master_key_id}} ON {{table:provider_keys}} (master_key_id);

-- Every key change: who, whose key, which provider, the hint, what was done. Never a key.
CREATE TABLE {{table:key_audit}} (
  seq        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id         uuid        NOT NULL UNIQUE,
  at         timestamptz NOT NULL,
  actor_id   text        NOT NULL,
  owner_type text        NOT NULL CHECK (owner_type IN ('user', 'system')),
  owner_id   text        NOT NULL,
  provider   text        NOT NULL CHECK (provider IN ('anthropic', 'openai', 'google')),
  action     text        NOT NULL CHECK (action IN ('set', 'delete')),
  hint       text        NOT NULL CHECK (length(hint) <= 16),
  request_id text        NOT NULL
);
CREATE INDEX {{name:key_audit_owner}} ON {{table:key_audit}} (owner_type, owner_id, seq DESC);

-- The model catalog's overrides and additions (built-in models live in code; admins change or add here).
CREATE TABLE {{table:models}} (
  id                        uuid        PRIMARY KEY,
  provider                  text        NOT NULL CHECK (provider IN ('anthropic', 'openai', 'google')),
  model                     text        NOT NULL CHECK (length(model) BETWEEN 1 AND 200),
  display_name              text        NOT NULL,
  is_active                 boolean     NOT NULL,
  context_window            integer     NOT NULL CHECK (context_window > 0),
  max_output_tokens         integer     NOT NULL CHECK (max_output_tokens > 0),
  -- Prices in USD per million tokens, exact decimals; null where the provider publishes none.
  input_per_mtok_usd        numeric     CHECK (input_per_mtok_usd >= 0),
  output_per_mtok_usd       numeric     CHECK (output_per_mtok_usd >= 0),
  cached_input_per_mtok_usd numeric     CHECK (cached_input_per_mtok_usd >= 0),
  created_at                timestamptz NOT NULL,
  updated_at                timestamptz NOT NULL,
  UNIQUE (provider, model)
);

-- One row per request that reached a provider, whatever its outcome. Token counts are null when the
-- provider did not report them (never 0 for "unknown"). Cost is exact; the prices used are kept with it.
CREATE TABLE {{table:usage_events}} (
  seq                       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id                        uuid        NOT NULL UNIQUE,
  created_at                timestamptz NOT NULL,
  user_id                   text        NOT NULL,
  model_id                  uuid        NOT NULL,
  model                     text        NOT NULL,
  provider                  text        NOT NULL CHECK (provider IN ('anthropic', 'openai', 'google')),
  key_source                text        NOT NULL CHECK (key_source IN ('user', 'system')),
  status                    text        NOT NULL CHECK (status IN ('ok', 'error', 'aborted')),
  input_tokens              integer     CHECK (input_tokens >= 0),
  output_tokens             integer     CHECK (output_tokens >= 0),
  cached_input_tokens       integer     CHECK (cached_input_tokens >= 0),
  reasoning_tokens          integer     CHECK (reasoning_tokens >= 0),
  cost_usd                  numeric     NOT NULL CHECK (cost_usd >= 0),
  input_per_mtok_usd        numeric,
  output_per_mtok_usd       numeric,
  cached_input_per_mtok_usd numeric,
  latency_ms                integer     NOT NULL CHECK (latency_ms >= 0),
  request_id                text        NOT NULL
);
CREATE INDEX {{name:usage_events_user_time}} ON {{table:usage_events}} (user_id, created_at DESC, seq DESC);
CREATE INDEX {{name:usage_events_time}} ON {{table:usage_events}} (created_at);

-- Monthly budgets and the reservations that hold them under concurrency (reserve, then settle).
CREATE TABLE {{table:budgets}} (
  user_id           text        PRIMARY KEY,
  monthly_limit_usd numeric     NOT NULL CHECK (monthly_limit_usd >= 0),
  applies_to        text        NOT NULL CHECK (applies_to IN ('system', 'all')),
  updated_at        timestamptz NOT NULL
);
CREATE TABLE {{table:budget_reservations}} (
  id           uuid        PRIMARY KEY,
  user_id      text        NOT NULL,
  period_start timestamptz NOT NULL,
  amount_usd   numeric     NOT NULL CHECK (amount_usd >= 0),
  created_at   timestamptz NOT NULL,
  -- A reservation of a node that crashed before settling stops counting after this.
  expires_at   timestamptz NOT NULL
);
CREATE INDEX {{name:budget_reservations_user}} ON {{table:budget_reservations}} (user_id, period_start);
CREATE INDEX {{name:budget_reservations_expiry}} ON {{table:budget_reservations}} (expires_at);
