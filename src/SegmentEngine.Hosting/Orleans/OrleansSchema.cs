using Npgsql;

namespace SegmentEngine.Hosting.Orleans;

/// <summary>Applies the project's Orleans ADO.NET schema (clustering, persistence, reminders) to a PostgreSQL database.</summary>
public static class OrleansSchema
{
    /// <summary>Name of the embedded SQL resource.</summary>
    public const string ResourceName = "SegmentEngine.Hosting.OrleansSchema.sql";

    /// <summary>Advisory lock key that serializes concurrent schema applications ("SEORLEAN" as ASCII).</summary>
    public const long AdvisoryLockKey = 0x53454F524C45414E;

    /// <summary>The query keys the schema registers in the OrleansQuery table.</summary>
    public static IReadOnlyList<string> QueryKeys { get; } =
    [
        "InsertMembershipVersionKey", "InsertMembershipKey", "UpdateMembershipKey", "UpdateIAmAlivetimeKey",
        "MembershipReadRowKey", "MembershipReadAllKey", "GatewaysQueryKey", "DeleteMembershipTableEntriesKey",
        "CleanupDefunctSiloEntriesKey",
        "ReadFromStorageKey", "WriteToStorageKey", "ClearStorageKey", "DeleteStorageKey",
        "ReadReminderRowsKey", "ReadReminderRowKey", "ReadRangeRows1Key", "ReadRangeRows2Key",
        "UpsertReminderRowKey", "DeleteReminderRowKey", "DeleteReminderRowsKey",
    ];

    /// <summary>Returns the text of the embedded schema script.</summary>
    public static string GetScript()
    {
        using var stream = typeof(OrleansSchema).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"Embedded resource '{ResourceName}' is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>Creates or updates the tables, functions and OrleansQuery rows; idempotent and safe to run concurrently.</summary>
    public static async Task ApplyAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var script = GetScript();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@key)", connection, transaction))
        {
            lockCommand.Parameters.AddWithValue("key", AdvisoryLockKey);
            await lockCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using (var command = new NpgsqlCommand(script, connection, transaction))
        {
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }
}
