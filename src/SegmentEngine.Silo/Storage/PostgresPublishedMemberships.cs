using Npgsql;
using NpgsqlTypes;
using SegmentEngine.Grains.Abstractions;

namespace SegmentEngine.Silo.Storage;

/// <summary>
/// Acknowledged memberships in the table <c>se_published_membership</c>: one row per (brand, segment, consumer) whose
/// last recorded change was <c>entered</c>; and in <c>se_published_membership_offset</c>, per topic partition, the
/// offset from which the brand's later changes can be read back; and in <c>se_published_segments</c> the segment
/// versions whose backfill the record holds. A save applies a shard's acknowledged changes, its offsets and (when
/// given) its segment versions in one transaction (the last change of a key decides: entered upserts, exited deletes).
/// </summary>
public sealed class PostgresPublishedMemberships(string connectionString, string serviceId) : IPublishedMemberships
{
    private const string ReadSql =
        "SELECT segment_id, segment_version, consumer_id FROM se_published_membership WHERE service_id = @service AND brand_id = @brand";

    private const string UpsertSql =
        """
        INSERT INTO se_published_membership (service_id, brand_id, segment_id, consumer_id, segment_version)
        SELECT @service, @brand, s, c, v FROM unnest(@segments, @consumers, @versions) AS t(s, c, v)
        ON CONFLICT (service_id, brand_id, segment_id, consumer_id) DO UPDATE SET segment_version = EXCLUDED.segment_version
        """;

    private const string ReadOffsetsSql =
        "SELECT topic_partition, next_offset FROM se_published_membership_offset WHERE service_id = @service AND brand_id = @brand";

    private const string UpsertOffsetsSql =
        """
        INSERT INTO se_published_membership_offset (service_id, brand_id, topic_partition, next_offset)
        SELECT @service, @brand, p, o FROM unnest(@partitions, @offsets) AS t(p, o)
        ON CONFLICT (service_id, brand_id, topic_partition) DO UPDATE SET next_offset = EXCLUDED.next_offset
        """;

    private const string ReadSegmentsSql =
        "SELECT segment_ids, segment_versions FROM se_published_segments WHERE service_id = @service AND brand_id = @brand";

    private const string UpsertSegmentsSql =
        """
        INSERT INTO se_published_segments (service_id, brand_id, segment_ids, segment_versions)
        VALUES (@service, @brand, @ids, @versions)
        ON CONFLICT (service_id, brand_id) DO UPDATE SET segment_ids = EXCLUDED.segment_ids, segment_versions = EXCLUDED.segment_versions
        """;

    private const string DeleteSql =
        """
        DELETE FROM se_published_membership m
        USING unnest(@segments, @consumers) AS t(s, c)
        WHERE m.service_id = @service AND m.brand_id = @brand AND m.segment_id = t.s AND m.consumer_id = t.c
        """;

    /// <inheritdoc />
    public async Task<PublishedRecord?> ReadAsync(string brandId, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        var memberships = new List<PublishedMembership>();
        await using (var command = BrandCommand(ReadSql, brandId, connection))
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                memberships.Add(new PublishedMembership(reader.GetString(0), reader.GetInt64(1), reader.GetString(2)));
            }
        }

        var offsets = new Dictionary<int, long>();
        await using (var command = BrandCommand(ReadOffsetsSql, brandId, connection))
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                offsets[reader.GetInt32(0)] = reader.GetInt64(1);
            }
        }

        var segments = new Dictionary<string, long>(StringComparer.Ordinal);
        await using (var command = BrandCommand(ReadSegmentsSql, brandId, connection))
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var ids = reader.GetFieldValue<string[]>(0);
                var versions = reader.GetFieldValue<long[]>(1);
                for (var i = 0; i < Math.Min(ids.Length, versions.Length); i++)
                {
                    segments[ids[i]] = versions[i];
                }
            }
        }

        return new PublishedRecord(memberships, offsets, segments);
    }

    /// <inheritdoc />
    public async Task SaveAsync(
        string brandId,
        IReadOnlyList<MembershipChange> changes,
        IReadOnlyDictionary<int, long> topicOffsets,
        IReadOnlyDictionary<string, long>? segments,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(changes);
        ArgumentNullException.ThrowIfNull(topicOffsets);
        var last = new Dictionary<(string Segment, string Consumer), MembershipChange>();
        foreach (var change in changes)
        {
            last[(change.SegmentId, change.ConsumerId)] = change;
        }

        var entered = last.Values.Where(c => c.Entered).ToList();
        var exited = last.Values.Where(c => !c.Entered).ToList();
        if (entered.Count == 0 && exited.Count == 0 && topicOffsets.Count == 0 && segments is null)
        {
            return;
        }

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        if (exited.Count > 0)
        {
            await using var delete = BrandCommand(DeleteSql, brandId, connection, transaction);
            delete.Parameters.Add(new NpgsqlParameter("segments", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = exited.Select(c => c.SegmentId).ToArray() });
            delete.Parameters.Add(new NpgsqlParameter("consumers", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = exited.Select(c => c.ConsumerId).ToArray() });
            await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        if (entered.Count > 0)
        {
            await using var upsert = BrandCommand(UpsertSql, brandId, connection, transaction);
            upsert.Parameters.Add(new NpgsqlParameter("segments", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = entered.Select(c => c.SegmentId).ToArray() });
            upsert.Parameters.Add(new NpgsqlParameter("consumers", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = entered.Select(c => c.ConsumerId).ToArray() });
            upsert.Parameters.Add(new NpgsqlParameter("versions", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = entered.Select(c => c.SegmentVersion).ToArray() });
            await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        if (topicOffsets.Count > 0)
        {
            await using var offsets = BrandCommand(UpsertOffsetsSql, brandId, connection, transaction);
            offsets.Parameters.Add(new NpgsqlParameter("partitions", NpgsqlDbType.Array | NpgsqlDbType.Integer) { Value = topicOffsets.Keys.ToArray() });
            offsets.Parameters.Add(new NpgsqlParameter("offsets", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = topicOffsets.Values.ToArray() });
            await offsets.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        if (segments is not null)
        {
            await using var upsert = BrandCommand(UpsertSegmentsSql, brandId, connection, transaction);
            var pairs = segments.ToArray();
            upsert.Parameters.Add(new NpgsqlParameter("ids", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = pairs.Select(p => p.Key).ToArray() });
            upsert.Parameters.Add(new NpgsqlParameter("versions", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = pairs.Select(p => p.Value).ToArray() });
            await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    // A statement on one brand's rows: every statement here takes the service and the brand.
    private NpgsqlCommand BrandCommand(string sql, string brandId, NpgsqlConnection connection, NpgsqlTransaction? transaction = null)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        command.Parameters.AddWithValue("service", serviceId);
        command.Parameters.AddWithValue("brand", brandId);
        return command;
    }
}
