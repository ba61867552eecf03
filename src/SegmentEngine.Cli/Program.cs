using System.Text;
using SegmentEngine.Cli;

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancellation.Cancel();
};

// Buffered: `audience stream` may print millions of lines.
await using var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 16);
var app = new CliApp(stdout, Console.Error, Environment.GetEnvironmentVariable);
var exitCode = await app.RunAsync(args, cancellation.Token);
await stdout.FlushAsync();
return exitCode;
