using System.Net;
using System.Net.Sockets;

namespace SegmentEngine.Benchmarks.Storage;

/// <summary>A loopback port free when asked, for the benchmarks' embedded PostgreSQL clusters.</summary>
internal static class FreePorts
{
    /// <summary>A port the system handed out and that was released again.</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
