-- The keys sealed under one master key id, in their owners' order: each page of `byokit key-owners --master-key-id`
-- (whom to tell after a master key leaked) is a range of this index. With master_key_id alone, the planner walked
-- every key in its owners' order keeping those of the id, or took every key of the id and sorted them, a page at a
-- time: the first page of an id whose keys come last (a rotation stopped part way, the keys before them resealed)
-- read 40,000 other keys of 50,001 for 500 (docs/architecture.md, "Storage at volume"). It counts `byokit key-ids`'
-- rows as master_key_id's index did, which it replaces. The keys table has a row per user and provider: it is built
-- in moments (key writes wait for it).
CREATE INDEX {{name:provider_keys_master_key_owner}} ON {{table:provider_keys}} (master_key_id, owner_type, owner_id, provider);
-- An index's name is schema-qualified as a table's is.
DROP INDEX {{table:provider_keys_master_key_id}};
