using Grpc.Core;
using Grpc.Net.Client;
using SegmentEngine.Api.V1;

namespace SegmentEngine.Cli;

/// <summary>The <c>segengine</c> command-line client: parses a command, calls the gRPC API and prints the result.</summary>
public sealed partial class CliApp(TextWriter stdout, TextWriter stderr, Func<string, string?> environment)
{
    /// <summary>Exit code of success.</summary>
    public const int ExitOk = 0;

    /// <summary>Exit code of a rule that does not validate.</summary>
    public const int ExitInvalid = 1;

    /// <summary>Exit code of a command-line mistake.</summary>
    public const int ExitUsage = 2;

    /// <summary>Exit codes of gRPC errors are this plus the status code (e.g. 15 = NOT_FOUND, 26 = UNAUTHENTICATED).</summary>
    public const int ExitRpcBase = 10;

    /// <summary>The default endpoint.</summary>
    public const string DefaultEndpoint = "http://127.0.0.1:5080";

    private const string RuleErrorsTrailer = "segmentengine-rule-errors-bin";

    /// <summary>Runs one command and returns the process exit code.</summary>
    public async Task<int> RunAsync(IReadOnlyList<string> args, CancellationToken cancellation)
    {
        CliArguments parsed;
        try
        {
            parsed = CliArguments.Parse(args);
        }
        catch (CliUsageException ex)
        {
            return Usage(ex.Message);
        }

        if (parsed.Positionals.Count == 0 || parsed.Has("help") || parsed.Positionals[0] == "help")
        {
            stdout.Write(UsageText);
            return parsed.Positionals.Count == 0 && !parsed.Has("help") ? ExitUsage : ExitOk;
        }

        var endpoint = parsed.Get("endpoint") ?? environment("SEGENGINE_ENDPOINT") ?? DefaultEndpoint;
        var apiKey = parsed.Get("api-key") ?? environment("SEGENGINE_API_KEY");
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var address) || address.Scheme is not ("http" or "https"))
        {
            return Usage($"--endpoint must be an http:// or https:// address, not '{endpoint}'");
        }

        try
        {
            using var channel = GrpcChannel.ForAddress(address);
            var call = new CallSettings(apiKey, cancellation);
            return await DispatchAsync(parsed, channel, call);
        }
        catch (CliUsageException ex)
        {
            return Usage(ex.Message);
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled && cancellation.IsCancellationRequested)
        {
            stderr.WriteLine("cancelled");
            return ExitRpcBase + (int)StatusCode.Cancelled;
        }
        catch (RpcException ex)
        {
            return RpcError(ex);
        }
    }

    /// <summary>The exit code of a gRPC status.</summary>
    public static int ExitCodeOf(StatusCode code) => code == StatusCode.OK ? ExitOk : ExitRpcBase + (int)code;

    private Task<int> DispatchAsync(CliArguments args, GrpcChannel channel, CallSettings call)
    {
        var noun = args.Positionals[0];
        var verb = args.Positionals.Count > 1 ? args.Positionals[1] : "";
        if (args.Positionals.Count > (noun == "rules" ? 3 : 2))
        {
            throw new CliUsageException($"unexpected argument '{args.Positionals[^1]}' (quote values that contain spaces)");
        }

        return (noun, verb) switch
        {
            ("segments", "create") => CreateSegmentAsync(args, channel, call),
            ("segments", "update") => UpdateSegmentAsync(args, channel, call),
            ("segments", "list") => ListSegmentsAsync(args, channel, call),
            ("segments", "get") => GetSegmentAsync(args, channel, call),
            ("segments", "delete") => DeleteSegmentAsync(args, channel, call),
            ("rules", "validate") => ValidateRuleAsync(args, channel, call),
            ("audience", "snapshot") => CreateSnapshotAsync(args, channel, call),
            ("audience", "stream") => StreamAudienceAsync(args, channel, call),
            ("audience", "page") => GetAudiencePageAsync(args, channel, call),
            ("consumer", "get") => GetConsumerAsync(args, channel, call),
            ("consumer", "consent") => SetConsentAsync(args, channel, call),
            _ => throw new CliUsageException($"unknown command '{string.Join(' ', args.Positionals.Take(2))}'"),
        };
    }

    private int Usage(string message)
    {
        stderr.WriteLine($"error: {message}");
        stderr.WriteLine("run 'segengine help' for usage");
        return ExitUsage;
    }

    private int RpcError(RpcException ex)
    {
        stderr.WriteLine($"error: {StatusName(ex.StatusCode)} ({(int)ex.StatusCode}): {ex.Status.Detail}");
        var detail = ex.Trailers.GetValueBytes(RuleErrorsTrailer);
        if (detail is not null)
        {
            try
            {
                foreach (var error in RuleErrors.Parser.ParseFrom(detail).Errors)
                {
                    stderr.WriteLine($"  {error.Line}:{error.Column}: {error.Message}");
                }
            }
            catch (Google.Protobuf.InvalidProtocolBufferException)
            {
                // The message above already lists the errors.
            }
        }

        if (ex.StatusCode == StatusCode.Unauthenticated)
        {
            stderr.WriteLine("hint: pass --api-key se_<key id>_<secret> or set SEGENGINE_API_KEY");
        }

        return ExitCodeOf(ex.StatusCode);
    }

    /// <summary>The canonical upper-case name of a status code, e.g. NOT_FOUND.</summary>
    public static string StatusName(StatusCode code)
    {
        var name = code.ToString();
        var builder = new System.Text.StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            if (i > 0 && char.IsUpper(name[i]))
            {
                builder.Append('_');
            }

            builder.Append(char.ToUpperInvariant(name[i]));
        }

        return builder.ToString();
    }

    /// <summary>Headers, deadline and cancellation of each call.</summary>
    private sealed class CallSettings(string? apiKey, CancellationToken cancellation)
    {
        public CancellationToken Cancellation => cancellation;

        public CallOptions Unary() => new(Headers(), DateTime.UtcNow.AddSeconds(60), cancellation);

        public CallOptions Streaming() => new(Headers(), null, cancellation);

        private Metadata Headers()
        {
            var headers = new Metadata();
            if (!string.IsNullOrEmpty(apiKey))
            {
                headers.Add("authorization", "Bearer " + apiKey);
            }

            return headers;
        }
    }
}
