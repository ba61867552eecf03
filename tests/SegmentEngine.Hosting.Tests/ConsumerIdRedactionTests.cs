using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SegmentEngine.Hosting.Logging;
using Xunit;

namespace SegmentEngine.Hosting.Tests;

/// <summary>Consumer ids never reach a log, even where Orleans names a consumer grain.</summary>
public sealed class ConsumerIdRedactionTests
{
    private const string Activation = "441116cfe2554874831cfa58bdd1ebf0";

    [Theory]
    [InlineData("c-176202")]
    [InlineData("ann@example.com")]
    [InlineData("Ann Smith, 12 (VIP)")]
    [InlineData("ünïcödé-ид")]
    public void An_activation_is_redacted_whatever_the_characters_of_its_id(string id)
    {
        var redactor = new ConsumerIdRedactor();
        var line = $"Task System.Action in WorkGroup [Activation: S127.0.0.1:11311:155028301/consumer/demo/{id}@{Activation}#GrainType=SegmentEngine.Grains.Consumers.ConsumerGrain State=Valid] took elapsed time 0:00:01.008";

        var redacted = redactor.Redact(line);

        Assert.DoesNotContain(id, redacted, StringComparison.Ordinal);
        Assert.Matches($"/consumer/demo/~[0-9a-f]{{10}}@{Activation}#GrainType=", redacted);
        Assert.StartsWith("Task System.Action in WorkGroup [Activation: S127.0.0.1:11311:155028301/consumer/demo/~", redacted, StringComparison.Ordinal);
        Assert.EndsWith("State=Valid] took elapsed time 0:00:01.008", redacted, StringComparison.Ordinal);
    }

    [Fact]
    public void Bare_grain_ids_are_redacted_and_one_consumer_gets_one_token()
    {
        var redactor = new ConsumerIdRedactor();
        var redacted = redactor.Redact("Forwarding failed: target consumer/acme.eu/c-1, caller consumer/acme.eu/c-2 (retry of consumer/acme.eu/c-1)");

        Assert.DoesNotContain("c-1", redacted, StringComparison.Ordinal);
        Assert.DoesNotContain("c-2", redacted, StringComparison.Ordinal);
        var tokens = System.Text.RegularExpressions.Regex.Matches(redacted, "consumer/acme.eu/(~[0-9a-f]{10})").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(3, tokens.Count);
        Assert.Equal(tokens[0], tokens[2]);
        Assert.NotEqual(tokens[0], tokens[1]);

        // Another process (another key) gives other tokens: they cannot be looked up across runs.
        Assert.NotEqual(redacted, new ConsumerIdRedactor().Redact("Forwarding failed: target consumer/acme.eu/c-1, caller consumer/acme.eu/c-2 (retry of consumer/acme.eu/c-1)"));
    }

    [Fact]
    public void Text_without_consumer_grains_is_left_as_it_is()
    {
        var redactor = new ConsumerIdRedactor();
        const string line = "Activation shard/demo@9a54ecbac2924b7fae99e6eba088fa77 took 1.2 s; ingest assigned 16 partitions";
        Assert.Same(line, redactor.Redact(line));
    }

    [Fact]
    public void Every_registered_provider_is_wrapped_and_messages_and_exceptions_reach_it_redacted()
    {
        var sink = new CapturingProvider();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Debug));
        services.AddSingleton<ILoggerProvider>(sink);
        services.AddSingleton<ILoggerProvider, CapturingProvider>();
        services.RedactConsumerIdsInLogs();
        using var provider = services.BuildServiceProvider();

        var providers = provider.GetServices<ILoggerProvider>().ToList();
        Assert.Equal(2, providers.Count);
        Assert.All(providers, p => Assert.IsType<RedactingLoggerProvider>(p));

        var logger = provider.GetRequiredService<ILoggerFactory>().CreateLogger("Orleans.Runtime.Catalog");
        logger.LogWarning(new InvalidOperationException("activation of consumer/demo/ann@example.com failed"), "Failed to activate {Grain}", "consumer/demo/ann@example.com");
        logger.LogInformation("Ingest assigned {Count} partitions", 16);

        Assert.Equal(2, sink.Lines.Count);
        Assert.DoesNotContain(sink.Lines, l => l.Contains("ann", StringComparison.Ordinal) || l.Contains("example.com", StringComparison.Ordinal));
        Assert.Contains("Failed to activate consumer/demo/~", sink.Lines[0], StringComparison.Ordinal);
        Assert.Contains("InvalidOperationException: activation of consumer/demo/~", sink.Lines[0], StringComparison.Ordinal);
        Assert.Equal("Ingest assigned 16 partitions", sink.Lines[1]);

        // A message with nothing to redact keeps its structured state for the provider.
        Assert.IsAssignableFrom<IReadOnlyList<KeyValuePair<string, object?>>>(sink.States[1]);

        // So does an exception that names no consumer: the provider gets the object, not text.
        var timeout = new TimeoutException("the shard did not answer");
        logger.LogError(timeout, "Shard update failed (attempt {Attempt})", 1);
        Assert.Equal(3, sink.Lines.Count);
        Assert.Same(timeout, sink.Exceptions[2]);
        Assert.Null(sink.Exceptions[0]);
    }

    private sealed class CapturingProvider : ILoggerProvider
    {
        public List<string> Lines { get; } = [];

        public List<object?> States { get; } = [];

        public List<Exception?> Exceptions { get; } = [];

        public ILogger CreateLogger(string categoryName) => new Logger(this);

        public void Dispose()
        {
        }

        private sealed class Logger(CapturingProvider owner) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull
                => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (owner)
                {
                    owner.Lines.Add(formatter(state, exception) + (exception is null ? "" : Environment.NewLine + exception));
                    owner.States.Add(state);
                    owner.Exceptions.Add(exception);
                }
            }
        }
    }
}
