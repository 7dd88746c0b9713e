-- A hold counts in its own month and, until it ends, in every later one. A call's usage record, and its cost
-- in the monthly spend, is dated when the call ends: a call held at 23:59 on the last day of a month and ending
-- after midnight UTC costs in the new month, where its hold did not count (0004 summed the holds of the
-- month asked for only), so calls then held in the new month could take its spending past the limit by as
-- much as was in flight at midnight. The function is otherwise 0004's, unchanged.
CREATE OR REPLACE FUNCTION {{table:hold_budget}}(
  hold_id uuid, hold_user_id text, hold_period_start timestamptz, hold_amount numeric, hold_created_at timestamptz,
  hold_expires_at timestamptz, key_source text
) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  budget_limit numeric;
  budget_scope text;
  spent numeric;
  held numeric;
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);  -- this transaction only: see above
  SELECT b.monthly_limit_usd, b.applies_to INTO budget_limit, budget_scope
    FROM {{table:budgets}} b WHERE b.user_id = hold_user_id FOR UPDATE;
  IF NOT FOUND OR (budget_scope = 'system' AND key_source <> 'system') THEN
    RETURN 'unlimited';
  END IF;
  -- Housekeeping: holds of nodes that died before ending them, expired now, would only be skipped. Locked
  -- in id order, as recording usage locks the holds it ends: no cycle of waits between the two.
  DELETE FROM {{table:budget_reservations}} r WHERE r.id IN (
    SELECT x.id FROM {{table:budget_reservations}} x
    WHERE x.user_id = hold_user_id AND x.expires_at <= hold_created_at ORDER BY x.id FOR UPDATE);
  SELECT coalesce((SELECT CASE WHEN budget_scope = 'all' THEN s.spent_usd ELSE s.system_spent_usd END
                   FROM {{table:monthly_spend}} s WHERE s.user_id = hold_user_id AND s.month_start = hold_period_start), 0),
         (SELECT coalesce(sum(r.amount_usd), 0) FROM {{table:budget_reservations}} r
          WHERE r.user_id = hold_user_id AND r.period_start <= hold_period_start AND r.expires_at > hold_created_at)
    INTO spent, held;
  -- Compared in numeric, exact: up to the limit, not a pico-dollar more.
  IF spent + held + hold_amount > budget_limit THEN
    RETURN 'exceeded';
  END IF;
  INSERT INTO {{table:budget_reservations}} (id, user_id, period_start, amount_usd, created_at, expires_at)
    VALUES (hold_id, hold_user_id, hold_period_start, hold_amount, hold_created_at, hold_expires_at);
  RETURN 'held';
END;
$$;
