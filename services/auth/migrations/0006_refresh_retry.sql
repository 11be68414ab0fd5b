-- The token each spent refresh token was rotated to. A client whose refresh answer was lost
-- retries with the spent token; within 10 s, while that successor was never used, the retry
-- rotates again instead of counting as reuse (services/auth/refresh.py). NULL marks a token
-- that can never be retried: a successor that such a retry replaced.
ALTER TABLE spent_refresh_tokens ADD COLUMN successor_hash bytea
    CHECK (successor_hash IS NULL OR length(successor_hash) = 32);
