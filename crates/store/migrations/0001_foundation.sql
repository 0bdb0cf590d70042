-- The foundation: places, households and their set-top boxes, rooms, topics and their record,
-- votes and comments.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE districts (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE CHECK (length(name) > 0),
    kind TEXT NOT NULL CHECK (kind IN ('district', 'county_city'))
);

CREATE TABLE towns (
    id          INTEGER PRIMARY KEY,
    district_id INTEGER NOT NULL REFERENCES districts(id),
    name        TEXT NOT NULL CHECK (length(name) > 0),
    kind        TEXT NOT NULL CHECK (kind IN ('town', 'subdistrict')),
    UNIQUE (district_id, name)
);

CREATE TABLE communities (
    id      INTEGER PRIMARY KEY,
    town_id INTEGER NOT NULL REFERENCES towns(id),
    name    TEXT NOT NULL CHECK (length(name) > 0),
    kind    TEXT NOT NULL CHECK (kind IN ('village', 'community')),
    UNIQUE (town_id, name)
);

CREATE TABLE grids (
    id           INTEGER PRIMARY KEY,
    community_id INTEGER NOT NULL REFERENCES communities(id),
    name         TEXT NOT NULL CHECK (length(name) > 0),
    worker       TEXT NOT NULL CHECK (length(worker) > 0),
    UNIQUE (community_id, name)
);

-- Households are loaded in grid order, so this index grows at its end (cheap appends).
CREATE TABLE households (
    id       INTEGER PRIMARY KEY,
    grid_id  INTEGER NOT NULL REFERENCES grids(id),
    building INTEGER NOT NULL CHECK (building BETWEEN 1 AND 9999),
    unit     INTEGER NOT NULL CHECK (unit BETWEEN 1 AND 9999),
    room     INTEGER NOT NULL CHECK (room BETWEEN 1 AND 9999),
    UNIQUE (grid_id, building, unit, room)
);

CREATE TABLE set_top_boxes (
    card_id      TEXT PRIMARY KEY CHECK (length(card_id) = 16),
    household_id INTEGER NOT NULL REFERENCES households(id)
) WITHOUT ROWID;
CREATE INDEX set_top_boxes_household ON set_top_boxes(household_id);

CREATE TABLE rooms (
    id              INTEGER PRIMARY KEY,
    level           TEXT NOT NULL CHECK (level IN ('town', 'community')),
    town_id         INTEGER UNIQUE REFERENCES towns(id),
    community_id    INTEGER UNIQUE REFERENCES communities(id),
    name            TEXT NOT NULL CHECK (length(name) > 0),
    convener_name   TEXT NOT NULL CHECK (length(convener_name) > 0),
    convener_office TEXT NOT NULL CHECK (length(convener_office) > 0),
    CHECK ((level = 'town' AND town_id IS NOT NULL AND community_id IS NULL)
        OR (level = 'community' AND community_id IS NOT NULL AND town_id IS NULL))
);

CREATE TABLE participants (
    id          INTEGER PRIMARY KEY,
    room_id     INTEGER NOT NULL REFERENCES rooms(id),
    name        TEXT NOT NULL CHECK (length(name) > 0),
    role        TEXT NOT NULL CHECK (role IN ('resident_representative', 'cppcc_member',
                                              'stakeholder_representative', 'department_head')),
    affiliation TEXT NOT NULL
);
CREATE INDEX participants_room ON participants(room_id);

-- A topic's row is a projection of its record, kept for queries; the record is the truth and
-- `record verify` checks that the two agree.
CREATE TABLE topics (
    id                INTEGER PRIMARY KEY,
    room_id           INTEGER NOT NULL REFERENCES rooms(id),
    title             TEXT NOT NULL,
    summary           TEXT NOT NULL,
    category          TEXT NOT NULL CHECK (category IN ('parking', 'elevators', 'ev_charging',
                          'activity_space', 'estate_renovation', 'garbage_sorting',
                          'community_management', 'city_management', 'water_bodies', 'other')),
    stage             TEXT NOT NULL CHECK (stage IN ('proposed', 'confirmed', 'rejected',
                          'research', 'consultation', 'consensus', 'reported', 'approved',
                          'returned', 'implementing', 'completed', 'archived', 'withdrawn')),
    eligible          TEXT NOT NULL,  -- JSON: consult::vote::EligibleArea
    ballot            TEXT NOT NULL,  -- JSON: consult::vote::Ballot
    proposed_at       INTEGER NOT NULL,
    session_starts_at INTEGER,
    session_place     TEXT,
    voting_opens_at   INTEGER,
    voting_closes_at  INTEGER,
    consensus         TEXT,
    progress          INTEGER CHECK (progress BETWEEN 0 AND 100),
    feedback          TEXT,
    record_seq        INTEGER NOT NULL,
    record_head       TEXT NOT NULL
);
CREATE INDEX topics_room ON topics(room_id);
CREATE INDEX topics_stage ON topics(stage);

-- The communities whose households a topic reaches: what a community's screens list.
CREATE TABLE topic_communities (
    topic_id     INTEGER NOT NULL REFERENCES topics(id),
    community_id INTEGER NOT NULL REFERENCES communities(id),
    PRIMARY KEY (community_id, topic_id)
) WITHOUT ROWID;

-- The consultation record: append-only, hash-chained per topic (see consult::record).
CREATE TABLE record_entries (
    topic_id   INTEGER NOT NULL REFERENCES topics(id),
    seq        INTEGER NOT NULL CHECK (seq >= 1),
    at         INTEGER NOT NULL,
    actor_role TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    kind       TEXT NOT NULL,
    fact       TEXT NOT NULL,  -- canonical JSON
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL,
    PRIMARY KEY (topic_id, seq)
) WITHOUT ROWID;

CREATE TRIGGER record_entries_never_change BEFORE UPDATE ON record_entries
BEGIN
    SELECT RAISE(ABORT, 'the consultation record is append-only: an entry cannot be changed');
END;

CREATE TRIGGER record_entries_never_vanish BEFORE DELETE ON record_entries
BEGIN
    SELECT RAISE(ABORT, 'the consultation record is append-only: an entry cannot be deleted');
END;

-- Every vote ever accepted: the history. Rows only ever arrive at the end (rowid order).
CREATE TABLE votes (
    id           INTEGER PRIMARY KEY,
    topic_id     INTEGER NOT NULL REFERENCES topics(id),
    household_id INTEGER NOT NULL REFERENCES households(id),
    card_id      TEXT NOT NULL,
    option       TEXT NOT NULL,
    sent_at      INTEGER NOT NULL,
    received_at  INTEGER NOT NULL
);

-- The vote that counts, one per household and topic.
CREATE TABLE current_votes (
    topic_id     INTEGER NOT NULL,
    household_id INTEGER NOT NULL,
    grid_id      INTEGER NOT NULL,
    vote_id      INTEGER NOT NULL REFERENCES votes(id),
    option       TEXT NOT NULL,
    sent_at      INTEGER NOT NULL,
    PRIMARY KEY (topic_id, household_id)
) WITHOUT ROWID;

-- Counts kept as votes arrive, so that a tally never scans the votes.
CREATE TABLE tallies (
    topic_id INTEGER NOT NULL,
    grid_id  INTEGER NOT NULL,
    option   TEXT NOT NULL,
    count    INTEGER NOT NULL CHECK (count >= 0),
    PRIMARY KEY (topic_id, grid_id, option)
) WITHOUT ROWID;

CREATE TABLE comments (
    id           INTEGER PRIMARY KEY,
    topic_id     INTEGER NOT NULL REFERENCES topics(id),
    household_id INTEGER NOT NULL REFERENCES households(id),
    card_id      TEXT NOT NULL,
    text         TEXT NOT NULL CHECK (length(text) BETWEEN 1 AND 200),
    sent_at      INTEGER NOT NULL,
    received_at  INTEGER NOT NULL,
    state        TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'accepted', 'rejected')),
    reason       TEXT,
    decided_at   INTEGER
);
CREATE INDEX comments_by_state ON comments(state, topic_id);
CREATE INDEX comments_by_topic ON comments(topic_id, state);

CREATE TRIGGER comments_never_vanish BEFORE DELETE ON comments
BEGIN
    SELECT RAISE(ABORT, 'comments are never deleted: reject them with a reason instead');
END;
