-- Identity on the platform: platform admins are the users of the public
-- schema, with the same sessions, refresh tokens and API keys as a tenant's
-- users (the same code serves both scopes), plus the JWT signing keys.

CREATE TABLE public.users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    username      text NOT NULL CHECK (length(username) BETWEEN 1 AND 150),
    password_hash text NOT NULL DEFAULT '',
    first_name    text NOT NULL DEFAULT '' CHECK (length(first_name) <= 150),
    last_name     text NOT NULL DEFAULT '' CHECK (length(last_name) <= 150),
    is_active     boolean NOT NULL DEFAULT true,
    is_owner      boolean NOT NULL DEFAULT false,
    attributes    jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(attributes) = 'object'),
    last_login_at timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON public.users (lower(email));
CREATE UNIQUE INDEX users_username_key ON public.users (lower(username));

CREATE TABLE public.sessions (
    id            uuid PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES public.users ON DELETE CASCADE,
    ip            text NOT NULL DEFAULT '',
    user_agent    text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    revoke_reason text
);
CREATE INDEX sessions_user_id_idx ON public.sessions (user_id);

CREATE TABLE public.refresh_tokens (
    token_hash bytea PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES public.sessions ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    used_at    timestamptz,
    next_jti   uuid,
    next_iat   timestamptz
);
CREATE INDEX refresh_tokens_session_id_idx ON public.refresh_tokens (session_id);

CREATE TABLE public.api_keys (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES public.users ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    prefix       text NOT NULL UNIQUE,
    key_hash     bytea NOT NULL,
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_user_id_idx ON public.api_keys (user_id);

-- Ed25519 signing keys; the private half sealed with TARUVI_SECRET_KEY.
CREATE TABLE public.signing_keys (
    kid         text PRIMARY KEY,
    private_key bytea NOT NULL,
    public_key  bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Grants for the tables above reach the platform role through the default
-- privileges set in 0001.
