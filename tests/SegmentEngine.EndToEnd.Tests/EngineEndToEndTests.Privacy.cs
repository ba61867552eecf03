using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using SegmentEngine.Api.V1;
using SegmentEngine.Grains.Abstractions;
using SegmentEngine.Grains.Audiences;
using Xunit;

namespace SegmentEngine.EndToEnd.Tests;

/// <summary>Erasure and snapshot expiry reach the audience snapshots and what they stored in PostgreSQL.</summary>
public sealed partial class EngineEndToEndTests
{
    [Fact]
    public async Task Erasing_a_child_takes_it_out_of_unexpired_snapshots_and_expired_snapshots_leave_storage()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = await StartEngineAsync(clock);
        using var channel = GrpcChannel.ForAddress(host.GrpcAddress);
        var now = clock.GetUtcNow();
        string[] consumers = ["keep-me-first", "erase-me-kid", "keep-me-last"];

        var signups = new Scenario();
        foreach (var consumer in consumers)
        {
            signups.Records.Add(Event(consumer, consumer + "-profile", "profile_update", now.AddHours(-2), new Dictionary<string, object?>
            {
                ["email"] = consumer + ".mailbox@example.com",
                ["country"] = "CA",
                ["birth_date"] = "1990-04-01",
            }));
            signups.Records.Add(Event(consumer, consumer + "-consent", "consent_update", now.AddHours(-1), new Dictionary<string, object?>
            {
                ["channel"] = "email",
                ["status"] = "opted_in",
                ["source"] = "signup",
            }));
        }

        await ProduceAndAwaitIngestAsync(host, signups);
        await new SegmentService.SegmentServiceClient(channel).CreateSegmentAsync(
            new CreateSegmentRequest { SegmentId = "canadians", Rule = "profile.country in (\"CA\")" }, Auth(_acmeKey));

        var audiences = new AudienceService.AudienceServiceClient(channel);
        var snapshot = await audiences.CreateAudienceSnapshotAsync(new CreateAudienceSnapshotRequest { SegmentId = "canadians", Channel = Channel.Email }, Auth(_acmeKey));
        Assert.Equal(3, snapshot.RecipientCount);
        Assert.True(await RowsHoldingAsync(host, "erase-me-kid") > 0, "the consumer's data should be stored before its erasure");

        // A birth date that makes the consumer 8 years old: the children rule erases it at once.
        var child = new Scenario();
        child.Records.Add(Event("erase-me-kid", "erase-me-kid-birth", "profile_update", now.AddMinutes(-1), new Dictionary<string, object?>
        {
            ["birth_date"] = DateOnly.FromDateTime(now.UtcDateTime).AddYears(-8).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
        }));
        await ProduceAndAwaitIngestAsync(host, child);

        // The snapshot made before the erasure no longer holds the child, streamed or paged one by one (the page that
        // starts at the child's position goes on to the next recipient), and no stored row names it any more.
        Assert.Equal(["keep-me-first", "keep-me-last"], await StreamIdsAsync(audiences, snapshot.SnapshotId));
        var paged = new List<string>();
        var token = "";
        do
        {
            var page = await audiences.GetAudiencePageAsync(new GetAudiencePageRequest { SnapshotId = snapshot.SnapshotId, PageSize = 1, PageToken = token }, Auth(_acmeKey));
            paged.AddRange(page.Recipients.Select(r => r.ConsumerId));
            token = page.NextPageToken;
        }
        while (token.Length > 0);
        Assert.Equal(["keep-me-first", "keep-me-last"], paged);
        Assert.Equal(0, await RowsHoldingAsync(host, "erase-me-kid"));
        Assert.Equal(0, await RowsHoldingAsync(host, "erase-me-kid.mailbox"));

        // A second snapshot, then both expire. Nothing reads them afterwards; the brand's sweep (the reminder's tick,
        // delivered here as the reminder service would) deletes their recipients from storage and ends the reminder.
        var second = await audiences.CreateAudienceSnapshotAsync(new CreateAudienceSnapshotRequest { SegmentId = "canadians", Channel = Channel.Email }, Auth(_acmeKey));
        Assert.Equal(2, second.RecipientCount);
        Assert.Equal(2, await StoredSnapshotsAsync(host));
        Assert.Equal(1, await RemindersAsync(host, AudienceGrain.ExpiryReminder));

        clock.Advance(TimeSpan.FromHours(24) + TimeSpan.FromMinutes(1));
        var grains = host.App.Services.GetRequiredService<IGrainFactory>();
        await grains.GetGrain<IAudienceGrain>(GrainKeys.Brand(Scenario.Acme)).AsReference<IRemindable>().ReceiveReminder(AudienceGrain.ExpiryReminder, default);

        Assert.Equal(0, await StoredSnapshotsAsync(host));
        Assert.Equal(0, await RemindersAsync(host, AudienceGrain.ExpiryReminder));
        var expired = await Assert.ThrowsAsync<RpcException>(() => StreamIdsAsync(audiences, second.SnapshotId));
        Assert.Equal(StatusCode.NotFound, expired.StatusCode);
    }

    private async Task<List<string>> StreamIdsAsync(AudienceService.AudienceServiceClient audiences, string snapshotId)
    {
        var ids = new List<string>();
        using var call = audiences.StreamAudience(new StreamAudienceRequest { SnapshotId = snapshotId }, Auth(_acmeKey));
        await foreach (var recipient in call.ResponseStream.ReadAllAsync())
        {
            ids.Add(recipient.ConsumerId);
        }

        return ids;
    }

    private static (string Key, string Value) Event(string consumer, string eventId, string type, DateTimeOffset at, Dictionary<string, object?> payload)
        => ($"{Scenario.Acme}:{consumer}", JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["event_id"] = eventId,
            ["brand_id"] = Scenario.Acme,
            ["consumer_id"] = consumer,
            ["type"] = type,
            ["occurred_at"] = at.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture),
            [type] = payload,
        }));

    /// <summary>Rows of grain state, consumer state, the event log and the published memberships that contain the text.</summary>
    private static async Task<long> RowsHoldingAsync(Silo.EngineHost host, string text)
        => await ScalarAsync(host, """
            SELECT (SELECT count(*) FROM se_grain_state WHERE position(convert_to(@t, 'UTF8') in PayloadBinary) > 0 OR position(@t in GrainIdExtensionString) > 0)
                 + (SELECT count(*) FROM se_consumer_state WHERE position(convert_to(@t, 'UTF8') in payload) > 0 OR position(@t in grain_key) > 0)
                 + (SELECT count(*) FROM se_event_log WHERE position(convert_to(@t, 'UTF8') in payload) > 0 OR position(@t in stream_key) > 0)
                 + (SELECT count(*) FROM se_published_membership WHERE position(@t in consumer_id) > 0)
            """, text);

    /// <summary>Snapshot rows of grain state that still hold recipients.</summary>
    private static Task<long> StoredSnapshotsAsync(Silo.EngineHost host)
        => ScalarAsync(host, "SELECT count(*) FROM se_grain_state WHERE GrainIdExtensionString LIKE @t AND PayloadBinary IS NOT NULL", Scenario.Acme + "/snap-%");

    private static Task<long> RemindersAsync(Silo.EngineHost host, string name)
        => ScalarAsync(host, "SELECT count(*) FROM se_reminder WHERE ReminderName = @t", name);

    private static async Task<long> ScalarAsync(Silo.EngineHost host, string sql, string text)
    {
        await using var connection = new NpgsqlConnection(host.PostgresConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("t", text);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
