using System.Data.Common;
using System.Net.Sockets;

namespace SegmentEngine.Grains.Abstractions;

/// <summary>
/// A write to the engine's storage failed for a reason of the storage's, not of the data: the database refused writes
/// (read-only after a failover), ran out of resources (disk full, too many connections), was shutting down, timed out
/// or lost the connection. Thrown by a grain in place of the storage's own exception, so that its caller (the ingest)
/// holds the events and tries again later instead of counting the failure against them.
/// </summary>
public sealed class TransientStorageException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TransientStorageException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public TransientStorageException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the storage's exception.</summary>
    public TransientStorageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Tells the storage's own failures (worth waiting out) from failures of the data.</summary>
public static class StorageFaults
{
    /// <summary>SQLSTATE of a write refused because the transaction is read-only (a standby, or a database set read-only).</summary>
    public const string ReadOnlyTransaction = "25006";

    /// <summary>
    /// True when <paramref name="exception"/> or an exception inside it is a transient database error
    /// (<see cref="DbException.IsTransient"/>, or a write refused as read-only), a timeout, or a broken connection.
    /// </summary>
    public static bool IsTransient(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var pending = new Stack<Exception>();
        pending.Push(exception);
        for (var seen = 0; pending.Count > 0 && seen < 32; seen++)
        {
            switch (pending.Pop())
            {
                case DbException { IsTransient: true }:
                case DbException { SqlState: ReadOnlyTransaction }:
                case TimeoutException:
                case IOException:
                case SocketException:
                    return true;
                case AggregateException aggregate:
                    foreach (var inner in aggregate.InnerExceptions)
                    {
                        pending.Push(inner);
                    }

                    break;
                case { InnerException: { } inner }:
                    pending.Push(inner);
                    break;
            }
        }

        return false;
    }
}
