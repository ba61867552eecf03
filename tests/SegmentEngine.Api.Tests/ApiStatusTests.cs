using System.Collections.Immutable;
using Grpc.Core;
using SegmentEngine.Api.Mapping;
using SegmentEngine.Grains.Abstractions;

namespace SegmentEngine.Api.Tests;

public sealed class ApiStatusTests
{
    [Theory]
    [InlineData(OutcomeStatus.Ok, StatusCode.OK)]
    [InlineData(OutcomeStatus.InvalidArgument, StatusCode.InvalidArgument)]
    [InlineData(OutcomeStatus.NotFound, StatusCode.NotFound)]
    [InlineData(OutcomeStatus.AlreadyExists, StatusCode.AlreadyExists)]
    [InlineData(OutcomeStatus.FailedPrecondition, StatusCode.FailedPrecondition)]
    [InlineData(OutcomeStatus.Aborted, StatusCode.Aborted)]
    [InlineData((OutcomeStatus)99, StatusCode.Internal)]
    public void OutcomesMapOneToOne(OutcomeStatus outcome, StatusCode expected)
    {
        Assert.Equal(expected, ApiStatus.ToStatusCode(outcome));
    }

    [Fact]
    public void RuleErrorsAreListedInTheMessageAndTheTrailer()
    {
        ImmutableArray<RuleError> errors = [new(1, 5, "unknown field 'profile.agee'"), new(2, 3, "expected a number")];

        var ex = ApiStatus.ToException(OutcomeStatus.InvalidArgument, "", errors);

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("1:5: unknown field 'profile.agee'", ex.Status.Detail);
        Assert.Contains("2:3: expected a number", ex.Status.Detail);
        var bytes = ex.Trailers.GetValueBytes(ApiStatus.RuleErrorsTrailer);
        Assert.NotNull(bytes);
        var detail = V1.RuleErrors.Parser.ParseFrom(bytes);
        Assert.Equal(2, detail.Errors.Count);
        Assert.Equal(1, detail.Errors[0].Line);
        Assert.Equal(5, detail.Errors[0].Column);
        Assert.Equal("expected a number", detail.Errors[1].Message);
    }

    [Fact]
    public void FailuresWithoutRuleErrorsKeepTheirMessage()
    {
        var ex = ApiStatus.ToException(OutcomeStatus.FailedPrecondition, "segment 'a' is referenced by 'b'", []);
        Assert.Equal(StatusCode.FailedPrecondition, ex.StatusCode);
        Assert.Equal("segment 'a' is referenced by 'b'", ex.Status.Detail);
        Assert.Null(ex.Trailers.GetValueBytes(ApiStatus.RuleErrorsTrailer));
    }

    [Fact]
    public void OkIsNotAnError()
    {
        Assert.Throws<ArgumentException>(() => ApiStatus.ToException(OutcomeStatus.Ok, "", []));
    }

    [Fact]
    public void UnimplementedNamesTheIssue()
    {
        var ex = ApiStatus.Unimplemented("LoyaltyService.GetProgram", "loyalty");
        Assert.Equal(StatusCode.Unimplemented, ex.StatusCode);
        Assert.Contains("LoyaltyService.GetProgram", ex.Status.Detail);
        Assert.Contains("'loyalty'", ex.Status.Detail);
    }
}
