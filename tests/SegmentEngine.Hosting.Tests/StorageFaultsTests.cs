using System.Net.Sockets;
using Npgsql;
using SegmentEngine.Grains.Abstractions;
using Xunit;

namespace SegmentEngine.Hosting.Tests;

/// <summary>Which storage failures a grain reports as the storage's own (to be waited out), on Npgsql's real exception types.</summary>
public sealed class StorageFaultsTests
{
    [Theory]
    [InlineData("25006", true)] // read_only_sql_transaction: a standby, or a database set read-only
    [InlineData("53100", true)] // disk_full
    [InlineData("53300", true)] // too_many_connections
    [InlineData("57P01", true)] // admin_shutdown
    [InlineData("40001", true)] // serialization_failure
    [InlineData("22021", false)] // character_not_in_repertoire: the data's fault
    [InlineData("23505", false)] // unique_violation
    [InlineData("42P01", false)] // undefined_table
    public void A_server_error_is_the_storages_own_by_its_sqlstate(string sqlState, bool transient)
    {
        var error = new PostgresException("message", "ERROR", "ERROR", sqlState);

        Assert.Equal(transient, StorageFaults.IsTransient(error));

        // Also when wrapped, as Orleans wraps a storage provider's exception.
        Assert.Equal(transient, StorageFaults.IsTransient(new InvalidOperationException("Error from storage provider", error)));
    }

    [Fact]
    public void Broken_connections_and_timeouts_are_the_storages_own_and_other_failures_are_not()
    {
        Assert.True(StorageFaults.IsTransient(new NpgsqlException("Failed to connect", new SocketException((int)SocketError.ConnectionRefused))));
        Assert.True(StorageFaults.IsTransient(new NpgsqlException("Exception while reading from stream", new IOException("end of stream"))));
        Assert.True(StorageFaults.IsTransient(new AggregateException(new ArgumentException("bad"), new TimeoutException())));
        Assert.False(StorageFaults.IsTransient(new InvalidOperationException("a bug")));
        Assert.False(StorageFaults.IsTransient(new AggregateException(new ArgumentException("bad"), new FormatException())));
    }
}
