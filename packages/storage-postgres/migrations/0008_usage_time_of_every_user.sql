-- A question about one user's records (a page of them, their sums over a window) is read through the user's own
-- index, usage_events_user_time. The index of every record by created_at alone, beside it for questions about every
-- user's records, was the planner's choice for a user it counted as frequent: it expected to meet that user's
-- records every few rows walking back from the newest. For a user whose records are all old (one who called a lot,
-- then stopped), the first page of them read every newer record of every user: 1.83 million rows of 2.1 million,
-- 330 ms, against 0.1 ms by the user's index (docs/architecture.md, "Storage at volume"). The index of every record
-- is now one of the UTC time, an expression that only the statements about every user's records name
-- (usage-sql.ts): no statement about one user can walk it, whatever the planner counts.
--
-- Built in this transaction, it holds back usage records being written until it is built (seconds a million
-- records). IF NOT EXISTS: a host with many records builds it beforehand, without holding them back, by
-- CREATE INDEX CONCURRENTLY with this name and expression (docs/architecture.md).
CREATE INDEX IF NOT EXISTS {{name:usage_events_all_users_time}} ON {{table:usage_events}} ((created_at AT TIME ZONE 'UTC'));
-- An index's name is schema-qualified as a table's is.
DROP INDEX {{table:usage_events_time}};
