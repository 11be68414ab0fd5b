-- Whether the account has a photo: roster keeps the image, the gateway reports uploads and
-- deletions (SetAccountPhoto), and every Account answer (sign-in, GET /v1/me) shows its URL
-- without asking roster.
ALTER TABLE accounts ADD COLUMN has_photo boolean NOT NULL DEFAULT false;
