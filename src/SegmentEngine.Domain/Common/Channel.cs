using System.Text.Json.Serialization;

namespace SegmentEngine.Domain.Common;

/// <summary>A marketing channel that consent and audiences are kept for.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<Channel>))]
public enum Channel : byte
{
    /// <summary>E-mail (address: the profile's email).</summary>
    Email = 0,

    /// <summary>SMS (address: the profile's E.164 phone).</summary>
    Sms = 1,

    /// <summary>Push notifications (address: the profile's push token).</summary>
    Push = 2,
}

/// <summary>Consent status of one channel; numbering matches the columnar facts.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ConsentStatus>))]
public enum ConsentStatus : byte
{
    /// <summary>Never asked or no record.</summary>
    Unknown = 0,

    /// <summary>Opted in: the only status that allows sending.</summary>
    OptedIn = 1,

    /// <summary>Opted out.</summary>
    OptedOut = 2,

    /// <summary>Asked, waiting for confirmation (double opt-in): not enough for sending.</summary>
    PendingConfirmation = 3,
}

/// <summary>Wire names (snake_case) of channels and consent statuses, as in the event contract.</summary>
public static class WireNames
{
    /// <summary>All channels, in enum order.</summary>
    public static IReadOnlyList<Channel> Channels { get; } = [Channel.Email, Channel.Sms, Channel.Push];

    /// <summary>The event-contract name of a channel (<c>email</c>, <c>sms</c>, <c>push</c>).</summary>
    public static string ToWire(this Channel channel) => channel switch
    {
        Channel.Email => "email",
        Channel.Sms => "sms",
        Channel.Push => "push",
        _ => throw new ArgumentOutOfRangeException(nameof(channel)),
    };

    /// <summary>The event-contract name of a consent status.</summary>
    public static string ToWire(this ConsentStatus status) => status switch
    {
        ConsentStatus.OptedIn => "opted_in",
        ConsentStatus.OptedOut => "opted_out",
        ConsentStatus.PendingConfirmation => "pending_confirmation",
        ConsentStatus.Unknown => "unknown",
        _ => throw new ArgumentOutOfRangeException(nameof(status)),
    };

    /// <summary>Parses a channel name; exact, lower case.</summary>
    public static bool TryParseChannel(string? text, out Channel channel)
    {
        switch (text)
        {
            case "email": channel = Channel.Email; return true;
            case "sms": channel = Channel.Sms; return true;
            case "push": channel = Channel.Push; return true;
            default: channel = default; return false;
        }
    }

    /// <summary>Parses a consent status accepted on input (not <c>unknown</c>); exact, lower case.</summary>
    public static bool TryParseConsentStatus(string? text, out ConsentStatus status)
    {
        switch (text)
        {
            case "opted_in": status = ConsentStatus.OptedIn; return true;
            case "opted_out": status = ConsentStatus.OptedOut; return true;
            case "pending_confirmation": status = ConsentStatus.PendingConfirmation; return true;
            default: status = ConsentStatus.Unknown; return false;
        }
    }
}
