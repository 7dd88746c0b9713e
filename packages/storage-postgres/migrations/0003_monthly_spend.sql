-- Each user's spending per calendar month (UTC), kept up to date as usage is recorded (in the same statement
-- as the records): a budget check reads one row instead of summing the month's records, which grow with
-- every call. `spent_usd` counts every call, `system_spent_usd` those a system key paid (a 'system' budget).
CREATE TABLE {{table:monthly_spend}} (
  user_id          text        NOT NULL,
  month_start      timestamptz NOT NULL,
  spent_usd        numeric     NOT NULL CHECK (spent_usd >= 0),
  system_spent_usd numeric     NOT NULL CHECK (system_spent_usd >= 0 AND system_spent_usd <= spent_usd),
  PRIMARY KEY (user_id, month_start)
);

-- The months recorded before this table existed.
INSERT INTO {{table:monthly_spend}} (user_id, month_start, spent_usd, system_spent_usd)
SELECT user_id, date_trunc('month', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', sum(cost_usd),
  coalesce(sum(cost_usd) FILTER (WHERE key_source = 'system'), 0)
FROM {{table:usage_events}}
GROUP BY 1, 2;
