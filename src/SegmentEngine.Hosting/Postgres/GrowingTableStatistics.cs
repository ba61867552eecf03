using System.Data.Common;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace SegmentEngine.Hosting.Postgres;

/// <summary>
/// Keeps PostgreSQL's planner statistics of one append-only table current while the table grows: once the rows this
/// process has appended since the last <c>ANALYZE</c> reach the table's analyzed size (and at least
/// <see cref="MinRows"/>), it analyzes the table in the background, so analyses come at each doubling and stop
/// mattering once the table is large (autovacuum's scale factor takes over).
/// </summary>
/// <remarks>
/// Autovacuum analyzes too, but only after its naptime (a minute by default) and a share of the table's analyzed size.
/// A table that grows from empty to a million rows within that minute is planned blind meanwhile: with no statistics,
/// PostgreSQL estimates each element of <c>stream_hash = ANY(@hashes)</c> to match 0.5% of the rows, so a grouped read
/// of 512 streams looks like most of the table and runs as a sequential scan (measured: 70-100 ms a read on 780k rows
/// against 3.5 ms through the index once analyzed; PostgreSQL was 45% of the machine in a fresh engine's first minute).
/// A failed analysis (or one cut short by the store's disposal) is logged and retried after as many rows again. <c>SKIP_LOCKED</c> leaves the table to whichever
/// session (another silo, autovacuum) is analyzing it already. A role that does not own the table gets a warning from
/// PostgreSQL, not an error, and the statistics stay autovacuum's.
/// </remarks>
internal sealed partial class GrowingTableStatistics(NpgsqlDataSource dataSource, string table, ILogger logger)
{
    /// <summary>Fewest appended rows that start a check.</summary>
    public const long MinRows = 1_000;

    private readonly string _analyzeSql = $"ANALYZE (SKIP_LOCKED) {table}";
    private readonly string _sizeSql = $"SELECT reltuples::float8 FROM pg_class WHERE oid = to_regclass('{table}')";
    private long _sinceAnalyze;
    private long _threshold = MinRows;
    private long _analyses;
    private int _running;
    private Task _current = Task.CompletedTask;

    /// <summary>The refresh in progress, or the last one (completed); it never faults.</summary>
    public Task Current => Volatile.Read(ref _current);

    /// <summary>How many times this process analyzed the table.</summary>
    public long AnalysisCount => Interlocked.Read(ref _analyses);

    /// <summary>Counts <paramref name="rows"/> just committed; starts a background check when enough have been.</summary>
    public void Added(long rows)
    {
        var since = Interlocked.Add(ref _sinceAnalyze, rows);
        if (since < Volatile.Read(ref _threshold) || Interlocked.CompareExchange(ref _running, 1, 0) != 0)
        {
            return;
        }

        Volatile.Write(ref _current, Task.Run(RefreshAsync));
    }

    private async Task RefreshAsync()
    {
        try
        {
            var connection = await dataSource.OpenConnectionAsync().ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                // -1 while the table was never analyzed (PostgreSQL 14 and later).
                var analyzedRows = await AnalyzedRowsAsync(connection).ConfigureAwait(false);
                var since = Interlocked.Read(ref _sinceAnalyze);
                if (analyzedRows < 0 || since >= analyzedRows)
                {
                    await using (var analyze = new NpgsqlCommand(_analyzeSql, connection))
                    {
                        await analyze.ExecuteNonQueryAsync().ConfigureAwait(false);
                    }

                    Interlocked.Add(ref _sinceAnalyze, -since);
                    Interlocked.Increment(ref _analyses);
                    analyzedRows = await AnalyzedRowsAsync(connection).ConfigureAwait(false);
                    LogAnalyzed(table, analyzedRows);
                }

                Volatile.Write(ref _threshold, Math.Max(MinRows, analyzedRows));
            }
        }
        catch (Exception e) when (e is DbException or TimeoutException or InvalidOperationException or ObjectDisposedException)
        {
            Volatile.Write(ref _threshold, Math.Max(MinRows, 2 * Interlocked.Read(ref _sinceAnalyze)));
            LogFailed(e, table);
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    private async Task<long> AnalyzedRowsAsync(NpgsqlConnection connection)
    {
        await using var size = new NpgsqlCommand(_sizeSql, connection);
        return await size.ExecuteScalarAsync().ConfigureAwait(false) is double rows ? (long)rows : -1;
    }

    [LoggerMessage(1, LogLevel.Debug, "Planner statistics of {Table} refreshed: about {Rows} rows")]
    private partial void LogAnalyzed(string table, long rows);

    [LoggerMessage(2, LogLevel.Warning, "The planner statistics of {Table} could not be refreshed; reads may be planned without them until autovacuum analyzes it")]
    private partial void LogFailed(Exception exception, string table);
}
