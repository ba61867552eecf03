using Microsoft.Extensions.Diagnostics.HealthChecks;
using SegmentEngine.Ingest.Pipeline;

namespace SegmentEngine.Silo.Storage;

/// <summary>
/// Readiness: the grain-state database answers (unhealthy when it does not), and the ingest is not holding its
/// partitions for it (degraded while the database answers but the ingest waits, say while it refuses writes).
/// Registered with the tag <see cref="Tag"/>, so that it takes part in <c>/readyz</c> and gRPC health but never in the
/// liveness endpoint <c>/healthz</c>: an engine waiting out a database outage loses nothing and must not be restarted
/// for it.
/// </summary>
public sealed class StorageReadinessCheck(IStorageHealth storage, IngestMetrics ingest) : IHealthCheck
{
    /// <summary>The tag of readiness checks.</summary>
    public const string Tag = "ready";

    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!await storage.IsAvailableAsync(cancellationToken).ConfigureAwait(false))
        {
            return HealthCheckResult.Unhealthy("the grain-state database does not answer; the ingest holds its partitions until it does");
        }

        return ingest.IsStorageAvailable
            ? HealthCheckResult.Healthy("the grain-state database answers")
            : HealthCheckResult.Degraded("the grain-state database answers but the ingest holds its partitions for it (writes refused)");
    }
}
