-- An app sign-in (POST /_allauth/app/v1/auth/login) gives its session a
-- session token, sent as X-Session-Token; the session keeps the token's
-- hash. Other sessions have none.

ALTER TABLE public.sessions ADD COLUMN token_hash bytea;
