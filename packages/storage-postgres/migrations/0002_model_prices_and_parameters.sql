-- Anthropic and OpenAI price prompt-cache writes apart from plain input: keep that price with admin models
-- too; and which sampling parameters a model refuses (byokit leaves them out of its requests).
ALTER TABLE {{table:models}} ADD COLUMN cache_write_per_mtok_usd numeric CHECK (cache_write_per_mtok_usd >= 0);
ALTER TABLE {{table:models}} ADD COLUMN ignored_parameters text[] NOT NULL DEFAULT '{}'
  CHECK (ignored_parameters <@ ARRAY['temperature', 'top_p', 'stop']);
