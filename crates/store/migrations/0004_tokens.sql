-- API tokens: stored only as SHA-256 hashes of the secret; the secret is shown once, at creation.

CREATE TABLE tokens (
    id           INTEGER PRIMARY KEY,
    hash         TEXT NOT NULL UNIQUE CHECK (length(hash) = 64),
    role         TEXT NOT NULL CHECK (role IN ('convener', 'overseer', 'grid_worker', 'moderator', 'operator')),
    name         TEXT NOT NULL CHECK (length(name) > 0),
    room_id      INTEGER REFERENCES rooms(id),
    community_id INTEGER REFERENCES communities(id),
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    CHECK ((role IN ('convener', 'overseer')) = (room_id IS NOT NULL)),
    CHECK ((role = 'grid_worker') = (community_id IS NOT NULL))
);

CREATE TABLE token_grids (
    token_id INTEGER NOT NULL REFERENCES tokens(id),
    grid_id  INTEGER NOT NULL REFERENCES grids(id),
    PRIMARY KEY (token_id, grid_id)
) WITHOUT ROWID;
