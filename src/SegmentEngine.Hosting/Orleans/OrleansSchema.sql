-- SegmentEngine's schema for the Orleans ADO.NET providers (invariant "Npgsql", Orleans 10.4.2):
-- clustering (membership), grain persistence and reminders.
--
-- The providers know only the OrleansQuery table: at start-up they read every (QueryKey, QueryText)
-- row and later execute QueryText with named parameters (@DeploymentId, @GrainIdHash, ...). The tables
-- behind the queries are this project's own. The script is idempotent (IF NOT EXISTS, CREATE OR REPLACE,
-- upserts of the query rows) and OrleansSchema.ApplyAsync runs it in one transaction under an advisory
-- lock, so it is safe to run twice and from several processes at once.
--
-- Timestamps are timestamptz; the providers pass UTC DateTime values.

CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  varchar(64) NOT NULL PRIMARY KEY,
    QueryText text        NOT NULL
);

-- ---------------------------------------------------------------------------------------------------
-- Clustering. One version row per deployment (cluster id) acts as the table's etag: every insert or
-- update of a silo row must name the current version and bumps it, in the same transaction.
-- ---------------------------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS se_membership_version
(
    DeploymentId varchar(150) NOT NULL PRIMARY KEY,
    Timestamp    timestamptz  NOT NULL DEFAULT now(),
    Version      integer      NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS se_membership
(
    DeploymentId varchar(150)  NOT NULL REFERENCES se_membership_version (DeploymentId),
    Address      varchar(45)   NOT NULL,
    Port         integer       NOT NULL,
    Generation   integer       NOT NULL,
    SiloName     varchar(150)  NOT NULL,
    HostName     varchar(150)  NOT NULL,
    Status       integer       NOT NULL,
    ProxyPort    integer       NULL,
    SuspectTimes varchar(8000) NULL,
    StartTime    timestamptz   NOT NULL,
    IAmAliveTime timestamptz   NOT NULL,
    PRIMARY KEY (DeploymentId, Address, Port, Generation)
);

-- Returns 1 when the silo row was inserted and the version bumped, 0 (and no change) otherwise.
CREATE OR REPLACE FUNCTION se_membership_insert(
    p_deployment_id text, p_address text, p_port integer, p_generation integer,
    p_silo_name text, p_host_name text, p_status integer, p_proxy_port integer,
    p_start_time timestamptz, p_i_am_alive_time timestamptz, p_version integer)
RETURNS integer
LANGUAGE plpgsql AS
$fn$
DECLARE
    affected integer;
BEGIN
    UPDATE se_membership_version
       SET Version = Version + 1, Timestamp = now()
     WHERE DeploymentId = p_deployment_id AND Version = p_version AND Version < 2147483647;
    GET DIAGNOSTICS affected = ROW_COUNT;
    IF affected = 0 THEN
        RETURN 0;
    END IF;

    INSERT INTO se_membership (DeploymentId, Address, Port, Generation, SiloName, HostName, Status,
                               ProxyPort, StartTime, IAmAliveTime)
    VALUES (p_deployment_id, p_address, p_port, p_generation, p_silo_name, p_host_name, p_status,
            p_proxy_port, p_start_time, p_i_am_alive_time)
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS affected = ROW_COUNT;
    IF affected = 0 THEN
        -- Undo the version bump: the row already existed.
        RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'se_membership_insert: row exists';
    END IF;
    RETURN 1;
EXCEPTION
    WHEN raise_exception THEN
        RETURN 0;
END
$fn$;

-- Returns 1 when the silo row was updated and the version bumped, 0 (and no change) otherwise.
CREATE OR REPLACE FUNCTION se_membership_update(
    p_deployment_id text, p_address text, p_port integer, p_generation integer,
    p_status integer, p_suspect_times text, p_i_am_alive_time timestamptz, p_version integer)
RETURNS integer
LANGUAGE plpgsql AS
$fn$
DECLARE
    affected integer;
BEGIN
    UPDATE se_membership_version
       SET Version = Version + 1, Timestamp = now()
     WHERE DeploymentId = p_deployment_id AND Version = p_version AND Version < 2147483647;
    GET DIAGNOSTICS affected = ROW_COUNT;
    IF affected = 0 THEN
        RETURN 0;
    END IF;

    UPDATE se_membership
       SET Status = p_status,
           SuspectTimes = p_suspect_times,
           IAmAliveTime = GREATEST(IAmAliveTime, p_i_am_alive_time)
     WHERE DeploymentId = p_deployment_id AND Address = p_address AND Port = p_port AND Generation = p_generation;
    GET DIAGNOSTICS affected = ROW_COUNT;
    IF affected = 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'se_membership_update: no row';
    END IF;
    RETURN 1;
EXCEPTION
    WHEN raise_exception THEN
        RETURN 0;
END
$fn$;

-- ---------------------------------------------------------------------------------------------------
-- Grain persistence. One row per (service, grain type, grain id); Version is the etag. Every write
-- names the version it read and replaces the whole payload.
-- ---------------------------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS se_grain_state
(
    ServiceId              varchar(150) NOT NULL,
    GrainTypeString        varchar(512) NOT NULL,
    GrainIdN0              bigint       NOT NULL,
    GrainIdN1              bigint       NOT NULL,
    GrainIdExtensionString varchar(512) NOT NULL,
    PayloadBinary          bytea        NULL,
    Version                integer      NOT NULL,
    ModifiedOn             timestamptz  NOT NULL DEFAULT now(),
    PRIMARY KEY (ServiceId, GrainTypeString, GrainIdN0, GrainIdN1, GrainIdExtensionString)
);

-- ---------------------------------------------------------------------------------------------------
-- Reminders. GrainHash is the grain's uniform hash as a signed integer; silos read their ring range.
-- ---------------------------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS se_reminder
(
    ServiceId    varchar(150) NOT NULL,
    GrainId      varchar(512) NOT NULL,
    ReminderName varchar(150) NOT NULL,
    StartTime    timestamptz  NOT NULL,
    Period       bigint       NOT NULL,
    GrainHash    integer      NOT NULL,
    Version      integer      NOT NULL,
    PRIMARY KEY (ServiceId, GrainId, ReminderName)
);

CREATE INDEX IF NOT EXISTS ix_se_reminder_hash ON se_reminder (ServiceId, GrainHash);

-- ---------------------------------------------------------------------------------------------------
-- The queries the providers execute, by key. Re-running the script replaces their text.
-- ---------------------------------------------------------------------------------------------------

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES

-- Clustering: parameters DeploymentId, Address, Port, Generation, SiloName, HostName, Status,
-- ProxyPort, SuspectTimes, StartTime, IAmAliveTime, Version.
('InsertMembershipVersionKey', $q$
WITH inserted AS (
    INSERT INTO se_membership_version (DeploymentId) VALUES (@DeploymentId)
    ON CONFLICT (DeploymentId) DO NOTHING
    RETURNING 1)
SELECT count(*)::integer FROM inserted;
$q$),

('InsertMembershipKey', $q$
SELECT se_membership_insert(@DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName, @Status,
                            @ProxyPort, @StartTime, @IAmAliveTime, @Version);
$q$),

('UpdateMembershipKey', $q$
SELECT se_membership_update(@DeploymentId, @Address, @Port, @Generation, @Status, @SuspectTimes,
                            @IAmAliveTime, @Version);
$q$),

('UpdateIAmAlivetimeKey', $q$
UPDATE se_membership
   SET IAmAliveTime = GREATEST(IAmAliveTime, @IAmAliveTime)
 WHERE DeploymentId = @DeploymentId AND Address = @Address AND Port = @Port AND Generation = @Generation;
$q$),

-- Read queries return the version row even when no silo row matches (silo columns then NULL).
('MembershipReadRowKey', $q$
SELECT v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status, m.ProxyPort,
       m.SuspectTimes, m.StartTime, m.IAmAliveTime, v.Version
  FROM se_membership_version v
  LEFT JOIN se_membership m
    ON m.DeploymentId = v.DeploymentId
   AND m.Address = @Address AND m.Port = @Port AND m.Generation = @Generation
 WHERE v.DeploymentId = @DeploymentId;
$q$),

('MembershipReadAllKey', $q$
SELECT v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status, m.ProxyPort,
       m.SuspectTimes, m.StartTime, m.IAmAliveTime, v.Version
  FROM se_membership_version v
  LEFT JOIN se_membership m ON m.DeploymentId = v.DeploymentId
 WHERE v.DeploymentId = @DeploymentId;
$q$),

('GatewaysQueryKey', $q$
SELECT Address, ProxyPort, Generation
  FROM se_membership
 WHERE DeploymentId = @DeploymentId AND Status = @Status AND ProxyPort > 0;
$q$),

('DeleteMembershipTableEntriesKey', $q$
DELETE FROM se_membership WHERE DeploymentId = @DeploymentId;
DELETE FROM se_membership_version WHERE DeploymentId = @DeploymentId;
$q$),

-- Only rows of dead silos (status 6) whose start and last heartbeat are both older than the cut-off.
('CleanupDefunctSiloEntriesKey', $q$
DELETE FROM se_membership
 WHERE DeploymentId = @DeploymentId
   AND Status = 6
   AND IAmAliveTime < @IAmAliveTime
   AND StartTime < @IAmAliveTime;
$q$),

-- Persistence: parameters GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString,
-- GrainIdExtensionString (NULL for keys without extension), ServiceId, GrainStateVersion, PayloadBinary.
-- The hashes are not stored: the key columns identify the row exactly.
('ReadFromStorageKey', $q$
SELECT PayloadBinary, Version
  FROM se_grain_state
 WHERE ServiceId = @ServiceId AND GrainTypeString = @GrainTypeString
   AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1
   AND GrainIdExtensionString = COALESCE(@GrainIdExtensionString, '');
$q$),

-- Insert when the caller has no version; otherwise update only if the stored version matches.
-- No row returned means a version conflict. Versions wrap from 2^31-1 to 1.
('WriteToStorageKey', $q$
WITH updated AS (
    UPDATE se_grain_state
       SET PayloadBinary = @PayloadBinary,
           Version = CASE WHEN Version = 2147483647 THEN 1 ELSE Version + 1 END,
           ModifiedOn = now()
     WHERE @GrainStateVersion IS NOT NULL
       AND ServiceId = @ServiceId AND GrainTypeString = @GrainTypeString
       AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1
       AND GrainIdExtensionString = COALESCE(@GrainIdExtensionString, '')
       AND Version = @GrainStateVersion
    RETURNING Version),
inserted AS (
    INSERT INTO se_grain_state (ServiceId, GrainTypeString, GrainIdN0, GrainIdN1, GrainIdExtensionString,
                                PayloadBinary, Version)
    SELECT @ServiceId, @GrainTypeString, @GrainIdN0, @GrainIdN1, COALESCE(@GrainIdExtensionString, ''),
           @PayloadBinary, 1
     WHERE @GrainStateVersion IS NULL
    ON CONFLICT DO NOTHING
    RETURNING Version)
SELECT Version AS NewGrainStateVersion FROM updated
UNION ALL
SELECT Version AS NewGrainStateVersion FROM inserted;
$q$),

-- Keeps the row with a NULL payload and a new version (DeleteStateOnClear = false).
('ClearStorageKey', $q$
UPDATE se_grain_state
   SET PayloadBinary = NULL,
       Version = CASE WHEN Version = 2147483647 THEN 1 ELSE Version + 1 END,
       ModifiedOn = now()
 WHERE ServiceId = @ServiceId AND GrainTypeString = @GrainTypeString
   AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1
   AND GrainIdExtensionString = COALESCE(@GrainIdExtensionString, '')
   AND Version = @GrainStateVersion
RETURNING Version;
$q$),

-- Removes the row (DeleteStateOnClear = true); returns a value that differs from the caller's version.
('DeleteStorageKey', $q$
DELETE FROM se_grain_state
 WHERE ServiceId = @ServiceId AND GrainTypeString = @GrainTypeString
   AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1
   AND GrainIdExtensionString = COALESCE(@GrainIdExtensionString, '')
   AND Version = @GrainStateVersion
RETURNING CASE WHEN Version = 2147483647 THEN 1 ELSE Version + 1 END;
$q$),

-- Reminders: parameters ServiceId, GrainId, ReminderName, StartTime, Period (milliseconds),
-- GrainHash, BeginHash, EndHash, Version. Columns read: GrainId, ReminderName, StartTime, Period, Version.
('ReadReminderRowsKey', $q$
SELECT GrainId, ReminderName, StartTime, Period, Version
  FROM se_reminder
 WHERE ServiceId = @ServiceId AND GrainId = @GrainId;
$q$),

('ReadReminderRowKey', $q$
SELECT GrainId, ReminderName, StartTime, Period, Version
  FROM se_reminder
 WHERE ServiceId = @ServiceId AND GrainId = @GrainId AND ReminderName = @ReminderName;
$q$),

-- Range (BeginHash, EndHash] when BeginHash < EndHash as signed integers.
('ReadRangeRows1Key', $q$
SELECT GrainId, ReminderName, StartTime, Period, Version
  FROM se_reminder
 WHERE ServiceId = @ServiceId AND GrainHash > @BeginHash AND GrainHash <= @EndHash;
$q$),

-- Wrapping range: above BeginHash or up to EndHash.
('ReadRangeRows2Key', $q$
SELECT GrainId, ReminderName, StartTime, Period, Version
  FROM se_reminder
 WHERE ServiceId = @ServiceId AND (GrainHash > @BeginHash OR GrainHash <= @EndHash);
$q$),

('UpsertReminderRowKey', $q$
INSERT INTO se_reminder AS r (ServiceId, GrainId, ReminderName, StartTime, Period, GrainHash, Version)
VALUES (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 1)
ON CONFLICT (ServiceId, GrainId, ReminderName) DO UPDATE
   SET StartTime = EXCLUDED.StartTime,
       Period = EXCLUDED.Period,
       GrainHash = EXCLUDED.GrainHash,
       Version = CASE WHEN r.Version = 2147483647 THEN 1 ELSE r.Version + 1 END
RETURNING Version;
$q$),

('DeleteReminderRowKey', $q$
WITH deleted AS (
    DELETE FROM se_reminder
     WHERE ServiceId = @ServiceId AND GrainId = @GrainId AND ReminderName = @ReminderName
       AND Version = @Version
    RETURNING 1)
SELECT count(*) > 0 FROM deleted;
$q$),

('DeleteReminderRowsKey', $q$
DELETE FROM se_reminder WHERE ServiceId = @ServiceId;
$q$)

ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;

-- ---------------------------------------------------------------------------------------------------
-- Consumer state written in group commits by SegmentEngine.Hosting.ConsumerState.GroupCommitGrainStorage
-- (not an ADO.NET provider table). One row per (service, grain key string); version is the etag (1, 2, ...,
-- wrapping to 1). Clearing a state deletes its row. grain_key is "brand/consumer" in byte order (COLLATE "C"),
-- so a brand's rows are one primary-key range: grain_key LIKE 'brand/%' uses the index.
-- ---------------------------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS se_consumer_state
(
    service_id  text        NOT NULL,
    grain_key   text        COLLATE "C" NOT NULL,
    payload     bytea       NOT NULL,
    version     integer     NOT NULL,
    modified_on timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service_id, grain_key)
);

-- ---------------------------------------------------------------------------------------------------
-- Append-only event streams written in group commits by SegmentEngine.Hosting.EventLog.PostgresEventLogStore
-- (not an ADO.NET provider table). A stream is (service_id, stream_key); stream_hash is the client-side FNV-1a 64
-- hash of both (EventStreamHash) and is the only index's only key, so a stream's rows are one index key, which
-- PostgreSQL's btree deduplication keeps as one entry with a list of rows; readers order them by seq (append order).
-- The entries of one append to one stream share a row when there are several of them (entry_count).
-- No unique constraint: a retried append may leave duplicate rows; readers skip repeated event ids.
-- Prefix scans (brand rebuilds, retention) filter stream_key LIKE 'brand/%' over the whole table.
-- ---------------------------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS se_event_log
(
    service_id  text        NOT NULL,
    stream_hash bigint      NOT NULL,
    stream_key  text        COLLATE "C" NOT NULL,
    seq         bigint      GENERATED ALWAYS AS IDENTITY,
    event_id    text        NOT NULL,
    occurred_at timestamptz NOT NULL,
    payload     bytea       NOT NULL
);

-- On the hash alone, not (stream_hash, seq): each append's rows then join their stream's one key instead of each
-- adding a key of its own, and PostgreSQL spent about half as much CPU per appended event in the same run
-- (benchmarks/RESULTS.md, twenty-first pass). A database made before that change has its old index replaced here,
-- once; the new one is built inside this script's transaction, so appends to the table wait for the build.
CREATE INDEX IF NOT EXISTS se_event_log_stream_hash ON se_event_log (stream_hash);
DROP INDEX IF EXISTS se_event_log_stream;

-- A row holding several entries of one append (SegmentEngine.Hosting.EventLog.EventLogChunk): how many, and the newest
-- entry's time (occurred_at is then the oldest's). Both null on a row holding one entry in its own columns.
ALTER TABLE se_event_log ADD COLUMN IF NOT EXISTS entry_count integer;
ALTER TABLE se_event_log ADD COLUMN IF NOT EXISTS newest_at timestamptz;

-- ---------------------------------------------------------------------------------------------------
-- Memberships a shard has published and the broker acknowledged (SegmentEngine.Silo.Storage.PostgresPublishedMemberships,
-- not ADO.NET provider tables): one row per membership whose last recorded change was "entered", and per partition of
-- the memberships topic the offset from which the brand's later changes can be read back. A shard rebuilt after a
-- crash brings the record up to date from the topic, compares it with what it evaluates and publishes the difference.
-- ---------------------------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS se_published_membership
(
    service_id      text   NOT NULL,
    brand_id        text   COLLATE "C" NOT NULL,
    segment_id      text   COLLATE "C" NOT NULL,
    consumer_id     text   COLLATE "C" NOT NULL,
    segment_version bigint NOT NULL,
    PRIMARY KEY (service_id, brand_id, segment_id, consumer_id)
);

CREATE TABLE IF NOT EXISTS se_published_membership_offset
(
    service_id      text    NOT NULL,
    brand_id        text    COLLATE "C" NOT NULL,
    topic_partition integer NOT NULL,
    next_offset     bigint  NOT NULL,
    PRIMARY KEY (service_id, brand_id, topic_partition)
);

-- Per brand, the segment versions whose backfill the record holds (parallel arrays). A rebuilt shard labels the
-- difference for a segment version missing here as that segment's backfill rather than as a recovery.
CREATE TABLE IF NOT EXISTS se_published_segments
(
    service_id       text     NOT NULL,
    brand_id         text     COLLATE "C" NOT NULL,
    segment_ids      text[]   NOT NULL,
    segment_versions bigint[] NOT NULL,
    PRIMARY KEY (service_id, brand_id)
);
