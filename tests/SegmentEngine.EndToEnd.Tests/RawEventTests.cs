using System.Collections.Immutable;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Serialization.Cloning;
using SegmentEngine.Domain.Brands;
using SegmentEngine.Domain.Events;
using SegmentEngine.Grains.Abstractions;
using Xunit;

namespace SegmentEngine.EndToEnd.Tests;

/// <summary>How a record's parse travels with it to a consumer grain: by reference within a silo, not across silos.</summary>
public sealed class RawEventTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    private static RawEvent Parsed()
    {
        var key = Encoding.UTF8.GetBytes("acme:c-1");
        var value = Encoding.UTF8.GetBytes(
            """{"event_id":"e-1","brand_id":"acme","consumer_id":"c-1","type":"check_in","occurred_at":"2026-11-29T11:00:00Z","check_in":{"location_id":"l-1"}}""");
        var parsed = EventParser.Parse(key, value, id => id == "acme" ? new BrandSettings { BrandId = "acme", Currency = "USD" } : null, Now);
        Assert.True(parsed.IsSuccess);
        return new RawEvent(key, value) { Parsed = parsed.Event };
    }

    [Fact]
    public void A_call_within_the_silo_keeps_the_parse_and_a_call_to_another_silo_carries_only_the_bytes()
    {
        using var services = new ServiceCollection().AddSerializer().BuildServiceProvider();
        var events = ImmutableArray.Create(Parsed());

        // Within a silo Orleans copies the arguments of a call; an immutable record is passed as it is.
        var copied = services.GetRequiredService<DeepCopier<ImmutableArray<RawEvent>>>().Copy(events);
        Assert.Same(events[0], copied[0]);
        Assert.NotNull(copied[0].Parsed);

        // Across silos the record is serialized: the bytes arrive, the parse does not (the grain parses them itself).
        var serializer = services.GetRequiredService<Serializer<ImmutableArray<RawEvent>>>();
        var remote = serializer.Deserialize(serializer.SerializeToArray(events));
        Assert.Null(remote[0].Parsed);
        Assert.Equal(events[0].Key.ToArray(), remote[0].Key.ToArray());
        Assert.Equal(events[0].Value.ToArray(), remote[0].Value.ToArray());
    }

    [Fact]
    public void A_record_whose_bytes_are_a_slice_of_a_larger_buffer_crosses_silos_with_its_own_bytes_only()
    {
        using var services = new ServiceCollection().AddSerializer().BuildServiceProvider();

        // As the ingest keeps records: slices of one pooled buffer, other records' bytes on either side.
        var slab = Encoding.UTF8.GetBytes("xxacme:c-1{\"a\":1}yy");
        var events = ImmutableArray.Create(new RawEvent(slab.AsMemory(2, 8), slab.AsMemory(10, 7)));

        var serializer = services.GetRequiredService<Serializer<ImmutableArray<RawEvent>>>();
        var remote = serializer.Deserialize(serializer.SerializeToArray(events));

        Assert.Equal("acme:c-1", Encoding.UTF8.GetString(remote[0].Key.Span));
        Assert.Equal("{\"a\":1}", Encoding.UTF8.GetString(remote[0].Value.Span));

        // The receiving silo's bytes are its own: the sender's buffer may be written again.
        slab.AsSpan().Clear();
        Assert.Equal("acme:c-1", Encoding.UTF8.GetString(remote[0].Key.Span));
    }
}
