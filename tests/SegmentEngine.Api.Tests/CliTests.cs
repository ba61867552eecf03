extern alias cli;
using cli::SegmentEngine.Cli;
using Grpc.Core;

namespace SegmentEngine.Api.Tests;

public sealed class CliTests
{
    [Fact]
    public void ArgumentsSplitIntoWordsAndOptions()
    {
        var args = CliArguments.Parse(["segments", "create", "--id", "vip", "--name=Very important", "--rule", "profile.age >= 18", "--help"]);

        Assert.Equal(["segments", "create"], args.Positionals);
        Assert.Equal("vip", args.Require("id"));
        Assert.Equal("Very important", args.Get("name"));
        Assert.Equal("profile.age >= 18", args.Get("rule"));
        Assert.True(args.Has("help"));
        args.EnsureAllUsed();
    }

    [Fact]
    public void MistakesAreUsageErrors()
    {
        Assert.Throws<CliUsageException>(() => CliArguments.Parse(["segments", "get", "--id"]));
        Assert.Throws<CliUsageException>(() => CliArguments.Parse(["--id", "a", "--id", "b"]));
        Assert.Throws<CliUsageException>(() => CliArguments.Parse(["-x"]));
        var args = CliArguments.Parse(["segments", "get", "--idd", "a"]);
        Assert.Throws<CliUsageException>(() => args.Require("id"));
        Assert.Throws<CliUsageException>(args.EnsureAllUsed);
    }

    [Fact]
    public void DoubleDashEndsOptions()
    {
        var args = CliArguments.Parse(["rules", "validate", "--", "--not-an-option"]);
        Assert.Equal(["rules", "validate", "--not-an-option"], args.Positionals);
    }

    [Theory]
    [InlineData(StatusCode.OK, 0)]
    [InlineData(StatusCode.InvalidArgument, 13)]
    [InlineData(StatusCode.NotFound, 15)]
    [InlineData(StatusCode.Unauthenticated, 26)]
    public void RpcErrorsHaveDistinctExitCodes(StatusCode code, int expected)
    {
        Assert.Equal(expected, CliApp.ExitCodeOf(code));
    }

    [Fact]
    public void StatusNamesAreCanonical()
    {
        Assert.Equal("PERMISSION_DENIED", CliApp.StatusName(StatusCode.PermissionDenied));
        Assert.Equal("NOT_FOUND", CliApp.StatusName(StatusCode.NotFound));
    }

    [Fact]
    public void ChannelAndConsentNamesParse()
    {
        Assert.Equal(cli::SegmentEngine.Api.V1.Channel.Sms, CliApp.ParseChannel("SMS"));
        Assert.Equal(cli::SegmentEngine.Api.V1.ConsentStatus.OptedIn, CliApp.ParseConsentStatus("opted_in"));
        Assert.Equal(cli::SegmentEngine.Api.V1.ConsentStatus.PendingConfirmation, CliApp.ParseConsentStatus("pending-confirmation"));
        Assert.Throws<CliUsageException>(() => CliApp.ParseChannel("fax"));
    }

    [Fact]
    public async Task UnknownCommandsAndBadEndpointsExitWithUsage()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var app = new CliApp(stdout, stderr, _ => null);

        Assert.Equal(CliApp.ExitUsage, await app.RunAsync(["segments", "frobnicate"], CancellationToken.None));
        Assert.Contains("unknown command 'segments frobnicate'", stderr.ToString());
        Assert.Equal(CliApp.ExitUsage, await app.RunAsync(["--endpoint", "ftp://x", "segments", "list"], CancellationToken.None));
        Assert.Equal(CliApp.ExitOk, await app.RunAsync(["help"], CancellationToken.None));
        Assert.Contains("audience stream --snapshot ID", stdout.ToString());
    }
}
