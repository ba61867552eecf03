using DuckDB.NET.Data;

namespace SegmentEngine.Benchmarks.Data;

/// <summary>
/// The per-consumer feature columns of the 5-clause rule loaded into an in-memory DuckDB table (one thread),
/// with the same widths as the core's columns: count INTEGER, sum DOUBLE, birth day INTEGER, country code
/// USMALLINT, points BIGINT.
/// </summary>
public sealed class DuckDbFeatureTable : IDisposable
{
    private readonly DuckDBConnection _connection;
    private readonly DuckDBCommand _query;

    /// <summary>Loads the features of <paramref name="data"/>.</summary>
    public DuckDbFeatureTable(BenchData data)
    {
        _connection = new DuckDBConnection("Data Source=:memory:");
        _connection.Open();
        Execute("SET threads=1; CREATE TABLE f(cnt30 INTEGER NOT NULL, sum90 DOUBLE NOT NULL, birth INTEGER, country USMALLINT, points BIGINT NOT NULL);");
        var (count30, sum90) = data.Features();
        using (var app = _connection.CreateAppender("f"))
        {
            for (var r = 0; r < data.Rows; r++)
            {
                var row = app.CreateRow().AppendValue(count30[r]).AppendValue(sum90[r]);
                row = data.BirthDay[r] == int.MinValue ? row.AppendNullValue() : row.AppendValue(data.BirthDay[r]);
                row = data.Country[r] == 0 ? row.AppendNullValue() : row.AppendValue(data.Country[r]);
                row.AppendValue(data.Points[r]).EndRow();
            }
        }
        Execute("CHECKPOINT;");
        _query = _connection.CreateCommand();
        _query.CommandText =
            $"SELECT count(*) FROM f WHERE cnt30 >= 2 AND sum90 > 100 AND birth <= {BenchData.BirthCutoff(18)} AND country IN (1, 2) AND points >= 500";
    }

    /// <summary>The SQL of the 5-clause rule.</summary>
    public string Sql => _query.CommandText;

    /// <summary>Runs the 5-clause rule and returns the number of members.</summary>
    public long CountMembers() => Convert.ToInt64(_query.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Runs arbitrary SQL returning one number.</summary>
    public long Scalar(string sql)
    {
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private void Execute(string sql)
    {
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _query.Dispose();
        _connection.Dispose();
    }
}
