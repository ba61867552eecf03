using System.Net;
using System.Net.Sockets;

namespace SegmentEngine.Testing;

/// <summary>
/// Loopback TCP ports for servers a test starts and that must be told their port before they bind it (PostgreSQL,
/// Orleans' silo and gateway endpoints, a silo in a child process). Shared by the test projects and the benchmarks as a
/// linked source file.
/// </summary>
/// <remarks>
/// A port asked of the kernel with port 0 lies in its ephemeral range (32768-60999 here) and is free only until the next
/// outgoing connection of any process takes it as its local port: the suite opens hundreds (Npgsql pools, librdkafka,
/// gRPC), and in CI one such connection took the port a test had picked before the engine bound it. Ports handed out here
/// lie below that range, where the kernel never assigns a port by itself, are probed by binding them, and are never
/// handed out twice in one process.
/// </remarks>
public static class LoopbackPorts
{
    /// <summary>Lowest port handed out.</summary>
    public const int First = 20_000;

    /// <summary>Highest port handed out (below the kernel's default ephemeral range, which starts at 32768).</summary>
    public const int Last = 32_000;

    private static readonly Lock Gate = new();
    private static int _next = First + Random.Shared.Next(Last - First);

    /// <summary>A loopback port between <see cref="First"/> and <see cref="Last"/> that nothing had bound a moment ago.</summary>
    public static int Next()
    {
        lock (Gate)
        {
            for (var tries = 0; tries <= Last - First; tries++)
            {
                _next = _next >= Last ? First : _next + 1;
                if (IsFree(_next))
                {
                    return _next;
                }
            }
        }

        throw new InvalidOperationException($"No free loopback port between {First} and {Last}.");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
