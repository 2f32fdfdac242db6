-- An app's settings are null until set: the public SDKs read an unset
-- setting as null, not as the empty string. Settings never set were
-- stored as '' by 0001 and become null; a PATCH with "" stores "".

ALTER TABLE apps
    ALTER COLUMN display_name DROP NOT NULL, ALTER COLUMN display_name DROP DEFAULT,
    ALTER COLUMN icon DROP NOT NULL, ALTER COLUMN icon DROP DEFAULT,
    ALTER COLUMN icon_url DROP NOT NULL, ALTER COLUMN icon_url DROP DEFAULT,
    ALTER COLUMN primary_color DROP NOT NULL, ALTER COLUMN primary_color DROP DEFAULT,
    ALTER COLUMN secondary_color DROP NOT NULL, ALTER COLUMN secondary_color DROP DEFAULT,
    ALTER COLUMN icon_background_color DROP NOT NULL, ALTER COLUMN icon_background_color DROP DEFAULT,
    ALTER COLUMN category DROP NOT NULL, ALTER COLUMN category DROP DEFAULT,
    ALTER COLUMN documentation_url DROP NOT NULL, ALTER COLUMN documentation_url DROP DEFAULT,
    ALTER COLUMN support_email DROP NOT NULL, ALTER COLUMN support_email DROP DEFAULT,
    ALTER COLUMN default_frontend_worker_url DROP NOT NULL, ALTER COLUMN default_frontend_worker_url DROP DEFAULT,
    ALTER COLUMN default_frontend_worker_slug DROP NOT NULL, ALTER COLUMN default_frontend_worker_slug DROP DEFAULT;

UPDATE apps SET
    display_name = NULLIF(display_name, ''),
    icon = NULLIF(icon, ''),
    icon_url = NULLIF(icon_url, ''),
    primary_color = NULLIF(primary_color, ''),
    secondary_color = NULLIF(secondary_color, ''),
    icon_background_color = NULLIF(icon_background_color, ''),
    category = NULLIF(category, ''),
    documentation_url = NULLIF(documentation_url, ''),
    support_email = NULLIF(support_email, ''),
    default_frontend_worker_url = NULLIF(default_frontend_worker_url, ''),
    default_frontend_worker_slug = NULLIF(default_frontend_worker_slug, '')
WHERE '' IN (display_name, icon, icon_url, primary_color, secondary_color, icon_background_color, category,
    documentation_url, support_email, default_frontend_worker_url, default_frontend_worker_slug);
