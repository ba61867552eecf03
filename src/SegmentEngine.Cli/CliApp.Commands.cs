using Google.Protobuf.WellKnownTypes;
using Grpc.Net.Client;
using SegmentEngine.Api.V1;

namespace SegmentEngine.Cli;

/// <summary>The commands of <see cref="CliApp"/>.</summary>
public sealed partial class CliApp
{
    /// <summary>The help text.</summary>
    public const string UsageText = """
        usage: segengine [--endpoint URL] [--api-key KEY] <command> [options]

        global options:
          --endpoint URL     API address (env SEGENGINE_ENDPOINT, default http://127.0.0.1:5080)
          --api-key KEY      se_<key id>_<secret> (env SEGENGINE_API_KEY)

        commands:
          segments create --id ID --name NAME --rule RULE [--description TEXT]
          segments update --id ID [--name NAME] [--description TEXT] [--rule RULE] [--expected-version N]
          segments list [--page-size N]
          segments get --id ID
          segments delete --id ID
          rules validate RULE [--segment ID]
          audience snapshot --segment ID --channel email|sms|push
          audience stream --snapshot ID            one recipient a line: consumer_id<TAB>address
          audience page --snapshot ID [--page-size N] [--page-token TOKEN]
          consumer get --id ID
          consumer consent --id ID --channel email|sms|push --status opted_in|opted_out|pending_confirmation [--source TEXT]

        exit codes: 0 ok, 1 rule invalid, 2 usage error, 10 + gRPC status code on an API error
          (13 INVALID_ARGUMENT, 15 NOT_FOUND, 16 ALREADY_EXISTS, 17 PERMISSION_DENIED, 19 FAILED_PRECONDITION,
           20 ABORTED, 22 UNIMPLEMENTED, 24 UNAVAILABLE, 26 UNAUTHENTICATED)

        """;

    private async Task<int> CreateSegmentAsync(CliArguments args, GrpcChannel channel, CallSettings call)
    {
        var request = new CreateSegmentRequest
        {
            SegmentId = args.Require("id"),
            DisplayName = args.Get("name") ?? "",
            Description = args.Get("description") ?? "",
            Rule = args.Require("rule"),
        };
        args.EnsureAllUsed();
        var segment = await new SegmentService.SegmentServiceClient(channel).CreateSegmentAsync(request, call.Unary());
        PrintSegment(segment);
        return ExitOk;
    }

    private async Task<int> UpdateSegmentAsync(CliArguments args, GrpcChannel channel, CallSettings call)
    {
        var request = new UpdateSegmentRequest { SegmentId = args.Require("id"), UpdateMask = new FieldMask() };
        if (args.Get("name") is { } name)
        {
            request.DisplayName = name;
            request.UpdateMask.Paths.Add("display_name");
        }

        if (args.Get("description") is { } description)
        {
            request.Description = description;
            request.UpdateMask.Paths.Add("description");
        }

        if (args.Get("rule") is { } rule)
        {
            request.Rule = rule;
            request.UpdateMask.Paths.Add("rule");
        }

        if (request.UpdateMask.Paths.Count == 0)
        {
            throw new CliUsageException("give at least one of --name, --description, --rule");
        }

        if (args.Get("expected-version") is { } version)
        {
            request.ExpectedVersion = long.TryParse(version, out var v) && v >= 0 ? v : throw new CliUsageException("--expected-version must be a non-negative integer");
        }

        args.EnsureAllUsed();
        PrintSegment(await new SegmentService.SegmentServiceClient(channel).UpdateSegmentAsync(request, call.Unary()));
        return ExitOk;
    }

    private async Task<int> ListSegmentsAsync(CliArguments args, GrpcChannel channel, CallSettings call)
    {
        var pageSize = args.GetInt("page-size", 0);
        args.EnsureAllUsed();
        var client = new SegmentService.SegmentServiceClient(channel);
        var request = new ListSegmentsRequest { PageSize = pageSize };
        do
        {
            var response = await client.ListSegmentsAsync(request, call.Unary());
            foreach (var segment in response.Segments)
            {
                stdout.WriteLine($"{segment.SegmentId}\tv{segment.Version}\t{segment.DisplayName}");
            }

            request.PageToken = response.NextPageToken;
        }
        while (request.PageToken.Length > 0);
        return ExitOk;
    }

    private async Task<int> GetSegmentAsync(CliArguments args, GrpcChannel channel, CallSettings call)
    {
        var request = new GetSegmentRequest { SegmentId = args.Require("id") };
        args.EnsureAllUsed();
        PrintSegment(await new SegmentService.SegmentServiceClient(channel).GetSegmentAsync(request, call.Unary()));
        return ExitOk;
    }

    private async Task<int> DeleteSegmentAsync(CliArguments args, GrpcChannel channel, CallSettings call)
    {
        var request = new DeleteSegmentRequest { SegmentId = args.Require("id") };
        args.EnsureAllUsed();
        await new SegmentService.SegmentServiceClient(channel).DeleteSegmentAsync(request, call.Unary());
        stdout.WriteLine($"deleted {request.SegmentId}");
        return ExitOk;
    }

    private async Task<int> ValidateRuleAsync(CliArguments args, GrpcChannel channel, CallSettings call)
    {
        var rule = args.Positionals.Count == 3 ? args.Positionals[2] : args.Get("rule")
            ?? throw new CliUsageException("give the rule as one argument: rules validate \"profile.age >= 18\"");
        var request = new ValidateRuleRequest { Rule = rule, SegmentId = args.Get("segment") ?? "" };
        args.EnsureAllUsed();
        var response = await new SegmentService.SegmentServiceClient(channel).ValidateRuleAsync(request, call.Unary());
        if (response.Valid)
        {
            stdout.WriteLine("valid");
            return ExitOk;
        }

        foreach (var error in response.Errors)
        {
            stdout.WriteLine($"{error.Line}:{error.Column}: {error.Message}");
        }

        return ExitInvalid;
    }

    private async Task<int> CreateSnapshotAsync(CliArguments args, GrpcChannel channel, CallSettings call)
    {
        var request = new CreateAudienceSnapshotRequest { SegmentId = args.Require("segment"), Channel = ParseChannel(args.Require("channel")) };
        args.EnsureAllUsed();
        var snapshot = await new AudienceService.AudienceServiceClient(channel).CreateAudienceSnapshotAsync(request, call.Unary());
        stdout.WriteLine($"snapshot_id: {snapshot.SnapshotId}");
        stdout.WriteLine($"segment_id: {snapshot.SegmentId} (v{snapshot.SegmentVersion})");
        stdout.WriteLine($"channel: {ChannelName(snapshot.Channel)}");
        stdout.WriteLine($"recipient_count: {snapshot.RecipientCount}");
        stdout.WriteLine($"expire_time: {Format(snapshot.ExpireTime)}");
        return ExitOk;
    }

    private async Task<int> StreamAudienceAsync(CliArguments args, GrpcChannel channel, CallSettings call)
    {
        var request = new StreamAudienceRequest { SnapshotId = args.Require("snapshot") };
        args.EnsureAllUsed();
        using var stream = new AudienceService.AudienceServiceClient(channel).StreamAudience(request, call.Streaming());
        while (await stream.ResponseStream.MoveNext(call.Cancellation))
        {
            var recipient = stream.ResponseStream.Current;
            stdout.WriteLine($"{recipient.ConsumerId}\t{recipient.Address}");
        }

        return ExitOk;
    }

    private async Task<int> GetAudiencePageAsync(CliArguments args, GrpcChannel channel, CallSettings call)
    {
        var request = new GetAudiencePageRequest
        {
            SnapshotId = args.Require("snapshot"),
            PageSize = args.GetInt("page-size", 0),
            PageToken = args.Get("page-token") ?? "",
        };
        args.EnsureAllUsed();
        var page = await new AudienceService.AudienceServiceClient(channel).GetAudiencePageAsync(request, call.Unary());
        foreach (var recipient in page.Recipients)
        {
            stdout.WriteLine($"{recipient.ConsumerId}\t{recipient.Address}");
        }

        stderr.WriteLine($"total: {page.TotalSize}");
        if (page.NextPageToken.Length > 0)
        {
            stderr.WriteLine($"next_page_token: {page.NextPageToken}");
        }

        return ExitOk;
    }

    private async Task<int> GetConsumerAsync(CliArguments args, GrpcChannel channel, CallSettings call)
    {
        var request = new GetConsumerRequest { ConsumerId = args.Require("id") };
        args.EnsureAllUsed();
        PrintConsumer(await new ConsumerService.ConsumerServiceClient(channel).GetConsumerAsync(request, call.Unary()));
        return ExitOk;
    }

    private async Task<int> SetConsentAsync(CliArguments args, GrpcChannel channel, CallSettings call)
    {
        var request = new SetConsentRequest
        {
            ConsumerId = args.Require("id"),
            Channel = ParseChannel(args.Require("channel")),
            Status = ParseConsentStatus(args.Require("status")),
            Source = args.Get("source") ?? "cli",
        };
        args.EnsureAllUsed();
        PrintConsumer(await new ConsumerService.ConsumerServiceClient(channel).SetConsentAsync(request, call.Unary()));
        return ExitOk;
    }

    /// <summary>Parses email, sms or push.</summary>
    public static Channel ParseChannel(string text) => text.ToLowerInvariant() switch
    {
        "email" => Channel.Email,
        "sms" => Channel.Sms,
        "push" => Channel.Push,
        _ => throw new CliUsageException($"--channel must be email, sms or push, not '{text}'"),
    };

    /// <summary>Parses opted_in, opted_out or pending_confirmation.</summary>
    public static ConsentStatus ParseConsentStatus(string text) => text.ToLowerInvariant().Replace('-', '_') switch
    {
        "opted_in" => ConsentStatus.OptedIn,
        "opted_out" => ConsentStatus.OptedOut,
        "pending_confirmation" => ConsentStatus.PendingConfirmation,
        _ => throw new CliUsageException($"--status must be opted_in, opted_out or pending_confirmation, not '{text}'"),
    };

    private static string ChannelName(Channel channel) => channel.ToString().ToLowerInvariant();

    private static string ConsentName(ConsentStatus status) => status switch
    {
        ConsentStatus.OptedIn => "opted_in",
        ConsentStatus.OptedOut => "opted_out",
        ConsentStatus.PendingConfirmation => "pending_confirmation",
        _ => "unknown",
    };

    private static string Format(Timestamp? time) => time is null ? "" : time.ToDateTimeOffset().ToString("u", System.Globalization.CultureInfo.InvariantCulture);

    private void PrintSegment(Segment segment)
    {
        stdout.WriteLine($"segment_id: {segment.SegmentId}");
        stdout.WriteLine($"display_name: {segment.DisplayName}");
        if (segment.Description.Length > 0)
        {
            stdout.WriteLine($"description: {segment.Description}");
        }

        stdout.WriteLine($"version: {segment.Version}");
        stdout.WriteLine($"rule: {segment.Rule}");
        stdout.WriteLine($"update_time: {Format(segment.UpdateTime)}");
    }

    private void PrintConsumer(Consumer consumer)
    {
        stdout.WriteLine($"consumer_id: {consumer.ConsumerId}");
        stdout.WriteLine($"create_time: {Format(consumer.CreateTime)}");
        foreach (var (key, value) in consumer.Profile.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            stdout.WriteLine($"profile.{key}: {value}");
        }

        foreach (var consent in consumer.Consents)
        {
            stdout.WriteLine($"consent.{ChannelName(consent.Channel)}: {ConsentName(consent.Status)} (source {consent.Source}, {Format(consent.UpdateTime)})");
        }

        stdout.WriteLine($"restricted: {(consumer.Restricted ? "yes" : "no")}");
        stdout.WriteLine($"objects_to_marketing: {(consumer.ObjectsToMarketing ? "yes" : "no")}");
        stdout.WriteLine($"loyalty: {consumer.LoyaltyPoints} points, tier {(consumer.LoyaltyTier.Length == 0 ? "-" : consumer.LoyaltyTier)}");
        stdout.WriteLine($"events: {consumer.EventCount}");
        stdout.WriteLine($"segments: {string.Join(", ", consumer.Segments)}");
    }
}
