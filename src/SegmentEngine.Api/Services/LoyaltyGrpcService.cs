using Grpc.Core;
using SegmentEngine.Api.Mapping;
using V1 = SegmentEngine.Api.V1;

namespace SegmentEngine.Api.Services;

/// <summary>LoyaltyService: mapped so that clients get an explicit UNIMPLEMENTED until the loyalty issue lands.</summary>
public sealed class LoyaltyGrpcService : V1.LoyaltyService.LoyaltyServiceBase
{
    private const string LoyaltyIssue = "loyalty program, accounts and ledger";

    /// <inheritdoc />
    public override Task<V1.LoyaltyProgram> GetProgram(V1.GetProgramRequest request, ServerCallContext context)
        => throw ApiStatus.Unimplemented("LoyaltyService.GetProgram", LoyaltyIssue);

    /// <inheritdoc />
    public override Task<V1.LoyaltyProgram> SetProgram(V1.SetProgramRequest request, ServerCallContext context)
        => throw ApiStatus.Unimplemented("LoyaltyService.SetProgram", LoyaltyIssue);

    /// <inheritdoc />
    public override Task<V1.LoyaltyAccount> GetAccount(V1.GetAccountRequest request, ServerCallContext context)
        => throw ApiStatus.Unimplemented("LoyaltyService.GetAccount", LoyaltyIssue);

    /// <inheritdoc />
    public override Task<V1.GetLedgerResponse> GetLedger(V1.GetLedgerRequest request, ServerCallContext context)
        => throw ApiStatus.Unimplemented("LoyaltyService.GetLedger", LoyaltyIssue);

    /// <inheritdoc />
    public override Task<V1.LedgerEntry> RedeemReward(V1.RedeemRewardRequest request, ServerCallContext context)
        => throw ApiStatus.Unimplemented("LoyaltyService.RedeemReward", LoyaltyIssue);

    /// <inheritdoc />
    public override Task<V1.LedgerEntry> AdjustPoints(V1.AdjustPointsRequest request, ServerCallContext context)
        => throw ApiStatus.Unimplemented("LoyaltyService.AdjustPoints", LoyaltyIssue);
}
