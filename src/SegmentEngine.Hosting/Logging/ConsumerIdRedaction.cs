using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace SegmentEngine.Hosting.Logging;

/// <summary>
/// Takes consumer ids out of log text. The engine's own messages never carry them, but Orleans names grains in its
/// warnings (a long-running turn, a rejected message, a failed activation), and a consumer grain's id is
/// <c>consumer/{brand}/{consumer id}</c>: a brand's consumer ids (an e-mail address, say) would reach the log.
/// Each is replaced by <c>consumer/{brand}/~{token}</c>, a keyed hash under a key made for this process and never
/// stored, so that lines about one consumer can be told apart and matched within a run but not traced back to the id.
/// </summary>
/// <remarks>
/// Two forms are recognised: an activation (<c>consumer/b/id@</c> and a 32-digit hexadecimal activation id), where the
/// id ends exactly before the activation id whatever its characters; and a bare grain id, which ends at the first
/// white space, bracket, parenthesis, brace, comma, semicolon or quote (or after 128 characters, the longest id). A
/// consumer id holding one of those characters, printed bare, keeps the part after it in the log: an id with a space
/// is redacted up to the space. Text after an activation within 128 characters may be taken with it (more is
/// redacted, never less).
/// </remarks>
public sealed partial class ConsumerIdRedactor
{
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);

    /// <summary>The text with every consumer grain id replaced by its token; the same instance when there was none.</summary>
    public string Redact(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!text.Contains("consumer/", StringComparison.Ordinal))
        {
            return text;
        }

        return GrainIds().Replace(text, match => match.Groups["prefix"].Value + "~" + Token(match.Groups["id"].Value));
    }

    private string Token(string id)
    {
        Span<byte> hash = stackalloc byte[32];
        HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(id), hash);
        return Convert.ToHexStringLower(hash[..5]);
    }

    [GeneratedRegex(@"(?<prefix>consumer/[A-Za-z0-9._-]{1,64}/)(?:(?<id>[^\r\n]{1,128}?)(?=@[0-9a-f]{32})|(?<id>[^\s\[\](){},;""']{1,128}))", RegexOptions.CultureInvariant)]
    private static partial Regex GrainIds();
}

/// <summary>A logger provider that passes every message through a <see cref="ConsumerIdRedactor"/> before the provider it wraps.</summary>
public sealed class RedactingLoggerProvider(ILoggerProvider inner, ConsumerIdRedactor redactor) : ILoggerProvider, ISupportExternalScope
{
    /// <summary>The wrapped provider.</summary>
    public ILoggerProvider Inner => inner;

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new RedactingLogger(inner.CreateLogger(categoryName), redactor);

    /// <inheritdoc />
    public void SetScopeProvider(IExternalScopeProvider scopeProvider)
    {
        if (inner is ISupportExternalScope scoped)
        {
            scoped.SetScopeProvider(scopeProvider);
        }
    }

    /// <inheritdoc />
    public void Dispose() => inner.Dispose();

    private sealed class RedactingLogger(ILogger inner, ConsumerIdRedactor redactor) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull
            => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!inner.IsEnabled(logLevel))
            {
                return;
            }

            var message = formatter(state, exception);
            var redacted = redactor.Redact(message);
            var details = exception?.ToString();
            var redactedDetails = details is null ? null : redactor.Redact(details);
            if (ReferenceEquals(redacted, message) && ReferenceEquals(redactedDetails, details))
            {
                // Nothing to take out: the structured state and the exception go on as they were.
                inner.Log(logLevel, eventId, state, exception, formatter);
                return;
            }

            // Exception messages name grains too: one that does goes on as redacted text, never as the object.
            var text = redactedDetails is null ? redacted : redacted + Environment.NewLine + redactedDetails;
            inner.Log(logLevel, eventId, text, null, static (s, _) => s);
        }
    }
}

/// <summary>Wires <see cref="RedactingLoggerProvider"/> around the logger providers of a host.</summary>
public static class ConsumerIdRedactionExtensions
{
    /// <summary>
    /// Wraps every logger provider registered so far (call it after the last one is added): each message they get has
    /// its consumer ids replaced (<see cref="ConsumerIdRedactor"/>). Per-provider filters of configuration
    /// (<c>Logging:Console:LogLevel</c>) no longer match the wrapped providers; the general <c>Logging:LogLevel</c> does.
    /// </summary>
    public static IServiceCollection RedactConsumerIdsInLogs(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton<ConsumerIdRedactor>();
        for (var i = 0; i < services.Count; i++)
        {
            var descriptor = services[i];
            if (descriptor.ServiceType != typeof(ILoggerProvider) || descriptor.IsKeyedService)
            {
                continue;
            }

            services[i] = ServiceDescriptor.Singleton<ILoggerProvider>(sp => new RedactingLoggerProvider(Create(sp, descriptor), sp.GetRequiredService<ConsumerIdRedactor>()));
        }

        return services;
    }

    private static ILoggerProvider Create(IServiceProvider services, ServiceDescriptor descriptor)
        => (ILoggerProvider)(descriptor.ImplementationInstance
            ?? descriptor.ImplementationFactory?.Invoke(services)
            ?? ActivatorUtilities.CreateInstance(services, descriptor.ImplementationType!));
}
