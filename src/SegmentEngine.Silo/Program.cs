using SegmentEngine.Silo;

try
{
    await using var host = await EngineHost.StartAsync(args);
    await host.WaitForShutdownAsync();
    return 0;
}
catch (InvalidOperationException ex) when (ex.Message.StartsWith("Invalid configuration", StringComparison.Ordinal))
{
    await Console.Error.WriteLineAsync(ex.Message);
    return 2;
}
