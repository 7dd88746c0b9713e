-- A year of a busy host's data, to read the plans of byokit's statements with EXPLAIN (ANALYZE, BUFFERS) (docs/
-- architecture.md, "Storage at volume"). Not run by npm test or npm run bench. In a schema of its own, migrated first:
--
--   node packages/storage-postgres/dist/cli.js migrate --database-url "$DATABASE_URL" --schema volume
--   PGOPTIONS='-c search_path=volume' psql "$DATABASE_URL" -f bench/storage-volume.sql   # about a minute
--
-- 2.1 million usage records over 20,000 users and a year, in time order as nodes append them, skewed as use is
-- (user-0 has some 74,000) and with user-gone's 100,000 in the first month only (a heavy user who stopped: the
-- user a plan that walks every record in time order reads the whole table for); 50,001 keys, 80% sealed under k2
-- (a rotation stopped part way); 5,000 budgets; 3,000 holds, 500 of them expired long ago. "Now" is 2026-11-30 23:55Z.
\set ON_ERROR_STOP on
SET synchronous_commit = off;
TRUNCATE byokit_usage_events, byokit_provider_keys, byokit_key_audit, byokit_budgets, byokit_budget_reservations,
  byokit_monthly_spend;
INSERT INTO byokit_usage_events (id, created_at, user_id, model_id, model, provider, key_source, status, input_tokens,
  output_tokens, cost_usd, input_per_mtok_usd, output_per_mtok_usd, latency_ms, request_id)
SELECT gen_random_uuid(), created_at, user_id, '564e8710-43a9-406f-b0ab-e8d651a33e82', 'claude-sonnet-4-5',
  (ARRAY['anthropic', 'openai', 'google'])[1 + i % 3], CASE WHEN i % 4 = 0 THEN 'user' ELSE 'system' END,
  CASE WHEN i % 50 = 0 THEN 'error' ELSE 'ok' END, 1000 + i % 5000, 200 + i % 700,
  round((0.003 + (i % 97) * 0.0001)::numeric, 6), 3, 15, 200 + i % 3000, 'req-' || i
FROM (
  SELECT i, timestamptz '2025-12-01 00:00Z' + (i::float8 / 2000000) * interval '365 days' AS created_at,
    'user-' || floor(20000 * random() ^ 3)::int AS user_id
  FROM generate_series(1, 2000000) AS i
  UNION ALL
  SELECT 2000000 + i, timestamptz '2025-12-01 00:00Z' + (i::float8 / 100000) * interval '31 days', 'user-gone'
  FROM generate_series(1, 100000) AS i
  ORDER BY created_at
) AS calls;
INSERT INTO byokit_monthly_spend (user_id, month_start, spent_usd, system_spent_usd)
SELECT user_id, date_trunc('month', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', sum(cost_usd),
  coalesce(sum(cost_usd) FILTER (WHERE key_source = 'system'), 0)
FROM byokit_usage_events GROUP BY 1, 2;
INSERT INTO byokit_provider_keys (owner_type, owner_id, provider, envelope, master_key_id, hint, verification, created_at,
  updated_at)
SELECT 'user', 'user-' || u, p, decode(repeat(md5(u || p), 6), 'hex'), 'k1', '…' || lpad((u % 10000)::text, 4, '0'),
  'valid', timestamptz '2026-08-01Z', timestamptz '2026-08-01Z'
FROM generate_series(0, 16665) AS u, unnest(ARRAY['anthropic', 'openai', 'google']) AS p
UNION ALL
SELECT 'system', 'system', p, decode(repeat(md5(p), 6), 'hex'), 'k1', '…abcd', 'valid', timestamptz '2026-08-01Z',
  timestamptz '2026-08-01Z'
FROM unnest(ARRAY['anthropic', 'openai', 'google']) AS p;
UPDATE byokit_provider_keys SET master_key_id = 'k2' WHERE (owner_type, owner_id, provider) IN (
  SELECT owner_type, owner_id, provider FROM byokit_provider_keys ORDER BY owner_type, owner_id, provider
  LIMIT (SELECT count(*) * 8 / 10 FROM byokit_provider_keys));
INSERT INTO byokit_key_audit (id, at, actor_id, owner_type, owner_id, provider, action, hint, request_id)
SELECT gen_random_uuid(), created_at, owner_id, owner_type, owner_id, provider, 'set', hint, 'req'
FROM byokit_provider_keys;
INSERT INTO byokit_budgets (user_id, monthly_limit_usd, applies_to, updated_at)
SELECT 'user-' || u, 1000, CASE WHEN u % 2 = 0 THEN 'all' ELSE 'system' END, timestamptz '2026-08-01Z'
FROM generate_series(0, 4999) AS u;
INSERT INTO byokit_budget_reservations (id, user_id, period_start, amount_usd, created_at, expires_at)
SELECT gen_random_uuid(), 'user-' || (h % 5000), timestamptz '2026-11-01Z', 0.04,
  CASE WHEN h <= 500 THEN timestamptz '2026-11-20 00:00Z' ELSE timestamptz '2026-11-30 23:50Z' END,
  CASE WHEN h <= 500 THEN timestamptz '2026-11-20 00:15Z' ELSE timestamptz '2026-12-01 00:05Z' END
FROM generate_series(1, 3000) AS h;
VACUUM ANALYZE byokit_usage_events, byokit_provider_keys, byokit_key_audit, byokit_budgets,
  byokit_budget_reservations, byokit_monthly_spend;
