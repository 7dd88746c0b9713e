-- A budget hold in one round trip. The user's budget row is locked while the hold is decided; in a
-- client-side transaction the lock would also be held across the client's round trips and its event loop's
-- delays (milliseconds on a busy node), serialising a user's concurrent calls on that. Here it is held
-- only while these few statements run on the server.
--
-- A hold is committed without waiting for its WAL record to reach the disk (synchronous_commit off, for this
-- transaction only). Other sessions see it at once either way; the wait only made each of a user's
-- concurrent holds pay a disk flush inside the lock (0.21x against 0.75x of unbudgeted throughput for one
-- busy user, bench/metering.mjs). What it risks: a crash of the PostgreSQL server itself may lose the holds
-- of its last moments (wal_writer_delay, 200 ms by default), holds of calls then in flight, so spending can
-- pass the limit by at most those in-flight holds, the bound budgets promise anyway. Usage records and
-- budgets are still committed durably.
--
-- Each statement of a VOLATILE PL/pgSQL function takes a new snapshot (READ COMMITTED), so once the lock is
-- granted, the sums below see every hold and record committed before it: holds of any node stay within the
-- budget. Returns 'unlimited' (no budget, or one that does not cover this key source; nothing held),
-- 'exceeded' (nothing held) or 'held'.
CREATE FUNCTION {{table:hold_budget}}(
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
          WHERE r.user_id = hold_user_id AND r.period_start = hold_period_start AND r.expires_at > hold_created_at)
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
