using System.Diagnostics.CodeAnalysis;

namespace SegmentEngine.Domain.Events;

/// <summary>The outcome of <see cref="EventParser"/>: either an event or a dead letter.</summary>
public readonly struct EventParseResult
{
    private EventParseResult(ConsumerEvent? @event, DeadLetter? deadLetter, string? brandId)
    {
        Event = @event;
        DeadLetter = deadLetter;
        BrandId = brandId;
    }

    /// <summary>The valid event, when <see cref="IsSuccess"/>.</summary>
    public ConsumerEvent? Event { get; }

    /// <summary>The rejection, when not <see cref="IsSuccess"/>.</summary>
    public DeadLetter? DeadLetter { get; }

    /// <summary>The brand id when it could be read (well-formed, configured or not), for per-brand metrics.</summary>
    public string? BrandId { get; }

    /// <summary>True when the event is valid.</summary>
    [MemberNotNullWhen(true, nameof(Event))]
    [MemberNotNullWhen(false, nameof(DeadLetter))]
    public bool IsSuccess => Event is not null;

    /// <summary>A success.</summary>
    public static EventParseResult Success(ConsumerEvent @event) => new(@event, null, @event.BrandId);

    /// <summary>A rejection.</summary>
    public static EventParseResult Reject(DeadLetter deadLetter, string? brandId = null) => new(null, deadLetter, brandId);
}
