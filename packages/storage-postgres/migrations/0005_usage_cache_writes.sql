-- Prompt tokens written to the provider's cache are billed at their own price (Anthropic's cache writes, OpenAI's
-- from GPT-5.6 on): keep their count and that price with each record, so that its cost can be worked out from
-- the record alone. Null in the records made before (not reported, never 0 for "unknown").
ALTER TABLE {{table:usage_events}} ADD COLUMN cache_write_tokens integer CHECK (cache_write_tokens >= 0);
ALTER TABLE {{table:usage_events}} ADD COLUMN cache_write_per_mtok_usd numeric;
