using System.Collections.Immutable;
using Google.Protobuf;
using Grpc.Core;
using SegmentEngine.Grains.Abstractions;
using V1 = SegmentEngine.Api.V1;

namespace SegmentEngine.Api.Mapping;

/// <summary>Maps grain outcomes onto gRPC statuses.</summary>
public static class ApiStatus
{
    /// <summary>Binary trailer carrying <see cref="V1.RuleErrors"/> with an INVALID_ARGUMENT for a bad rule.</summary>
    public const string RuleErrorsTrailer = "segmentengine-rule-errors-bin";

    /// <summary>The gRPC status code of a grain outcome.</summary>
    public static StatusCode ToStatusCode(OutcomeStatus status) => status switch
    {
        OutcomeStatus.Ok => StatusCode.OK,
        OutcomeStatus.InvalidArgument => StatusCode.InvalidArgument,
        OutcomeStatus.NotFound => StatusCode.NotFound,
        OutcomeStatus.AlreadyExists => StatusCode.AlreadyExists,
        OutcomeStatus.FailedPrecondition => StatusCode.FailedPrecondition,
        OutcomeStatus.Aborted => StatusCode.Aborted,
        _ => StatusCode.Internal,
    };

    /// <summary>An exception for a failed outcome; rule errors go in the message as <c>line:column: message</c> and in the trailer.</summary>
    public static RpcException ToException(OutcomeStatus status, string message, ImmutableArray<RuleError> errors)
    {
        var code = ToStatusCode(status);
        if (code == StatusCode.OK)
        {
            throw new ArgumentException("An OK outcome is not an error.", nameof(status));
        }

        if (errors.IsDefaultOrEmpty)
        {
            return new RpcException(new Status(code, string.IsNullOrEmpty(message) ? code.ToString() : message));
        }

        return InvalidRule(errors, string.IsNullOrEmpty(message) ? "The rule is invalid" : message, code);
    }

    /// <summary>INVALID_ARGUMENT (or the given code) listing each rule error.</summary>
    public static RpcException InvalidRule(ImmutableArray<RuleError> errors, string summary = "The rule is invalid", StatusCode code = StatusCode.InvalidArgument)
    {
        var text = summary.TrimEnd('.', ':', ' ') + ": " + string.Join("; ", errors.Select(e => e.ToString()));
        var detail = new V1.RuleErrors();
        detail.Errors.AddRange(errors.Select(ApiMapper.ToProto));
        var trailers = new Metadata { { RuleErrorsTrailer, detail.ToByteArray() } };
        return new RpcException(new Status(code, text), trailers);
    }

    /// <summary>INVALID_ARGUMENT with a message about a request field.</summary>
    public static RpcException InvalidArgument(string message) => new(new Status(StatusCode.InvalidArgument, message));

    /// <summary>NOT_FOUND with a message.</summary>
    public static RpcException NotFound(string message) => new(new Status(StatusCode.NotFound, message));

    /// <summary>UNIMPLEMENTED naming the issue that will bring the method.</summary>
    public static RpcException Unimplemented(string method, string issue)
        => new(new Status(StatusCode.Unimplemented, $"{method} is not implemented yet; it arrives with the issue '{issue}'."));
}
