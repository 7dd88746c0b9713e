-- Expired holds are deleted whoever they were for. 0004 deleted, at each hold, the expired holds of the user
-- holding only: a hold left by a node that died (or a call whose usage record was never saved) stayed in the
-- table for ever when its user never held again, or no longer had a budget (the function returns before its
-- housekeeping then). A deployment that ran for months kept every such row. The function is otherwise 0006's,
-- unchanged.
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
  PERFORM set_config('synchronous_commit', 'off', true);  -- this transaction only: see 0004
  SELECT b.monthly_limit_usd, b.applies_to INTO budget_limit, budget_scope
    FROM {{table:budgets}} b WHERE b.user_id = hold_user_id FOR UPDATE;
  IF NOT FOUND OR (budget_scope = 'system' AND key_source <> 'system') THEN
    RETURN 'unlimited';
  END IF;
  -- Housekeeping: holds of nodes that died before ending them, expired now, would only be skipped. Every
  -- user's, not this one's alone: those of a user who never calls again, or whose budget was removed, were kept
  -- for ever. Only those expired a whole hold's lifetime (BudgetGuard's 15 minutes) ago by this node's clock: a node whose clock runs fast
  -- would otherwise delete other nodes' live holds (renewed to 15 minutes ahead every 5), which then stopped
  -- counting; so a clock up to 25 minutes fast deletes none, and an expired hold, which no sum counts, goes 15
  -- minutes later. At most 1,000 a call (a backlog goes over the next calls), by the expiry index; one another
  -- transaction has locked (its record ending it) is left to it, so no hold waits on another user's.
  DELETE FROM {{table:budget_reservations}} r WHERE r.id IN (
    SELECT x.id FROM {{table:budget_reservations}} x
    WHERE x.expires_at <= hold_created_at - interval '15 minutes' LIMIT 1000 FOR UPDATE SKIP LOCKED);
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
