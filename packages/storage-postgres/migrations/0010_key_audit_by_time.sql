-- The key audit trail in time order, of every owner and of each: each page of `byokit key-audit` (the trail an
-- operator reads after a master key leak or a restored backup), `--since` included, is a range of one of these. In
-- seq order alone, `--since` could only filter the trail as it was read, and its last page read every older record
-- back to the start (at follows seq nearly, not exactly: two nodes' writes). The trail has a row per key change: it is
-- built in moments (key writes wait for it).
CREATE INDEX {{name:key_audit_at}} ON {{table:key_audit}} (at, seq);
CREATE INDEX {{name:key_audit_owner_at}} ON {{table:key_audit}} (owner_type, owner_id, at, seq);
