using System.Collections.Immutable;
using System.Text.Json;
using SegmentEngine.Domain.Brands;
using SegmentEngine.Domain.Common;
using SegmentEngine.Domain.Validation;

namespace SegmentEngine.Domain.Events;

/// <summary>Payload readers of the event parser, one per event type.</summary>
public static partial class EventParser
{
    private static readonly FieldNames PurchaseFields = new("order_id", "amount", "currency", "store_id", "items");
    private static readonly FieldNames ItemFields = new("sku", "category", "quantity", "unit_price");
    private static readonly FieldNames RefundFields = new("order_id", "amount", "currency");
    private static readonly FieldNames CheckInFields = new("location_id");
    private static readonly FieldNames SurveyFields = new("survey_id", "question_id", "answer");
    private static readonly FieldNames ConsentFields = new("channel", "status", "source");
    private static readonly FieldNames CustomFields = new("name", "properties");
    private static readonly FieldNames ProfileFieldNames = new("email", "phone", "push_token", "birth_date", "gender", "country", "region", "city", "postal_code", "time_zone", "attributes");

    private static readonly ProfileFields[] ProfileFieldFlags =
    [
        ProfileFields.Email, ProfileFields.Phone, ProfileFields.PushToken, ProfileFields.BirthDate, ProfileFields.Gender,
        ProfileFields.Country, ProfileFields.Region, ProfileFields.City, ProfileFields.PostalCode, ProfileFields.TimeZone,
    ];

    private static DeadLetter? ParsePurchase(JsonElement obj, BrandSettings brand, out EventPayload? payload)
    {
        payload = null;
        var path = new FieldPath("purchase");
        var slots = default(FieldSlots);
        var f = ((Span<JsonElement>)slots)[..PurchaseFields.Length];
        DeadLetter? error;
        if ((error = Collect(obj, path, PurchaseFields, f)) is not null
            || (error = RequireId(f[0], path.Child("order_id"), FieldRules.MaxIdLength, out var orderId)) is not null
            || (error = RequireAmount(f[1], path.Child("amount"), out var amount)) is not null
            || (error = CheckCurrency(f[2], path.Child("currency"), brand, required: true, out var currency)) is not null
            || (error = OptionalId(f[3], path.Child("store_id"), FieldRules.MaxIdLength, out var storeId, code: true)) is not null
            || (error = ReadItems(f[4], path.Child("items"), out var items)) is not null)
        {
            return error;
        }

        payload = new PurchasePayload(orderId, amount, currency!, storeId, items);
        return null;
    }

    private static DeadLetter? ReadItems(JsonElement element, FieldPath path, out IReadOnlyList<PurchaseItem> items)
    {
        items = [];
        if (IsAbsent(element))
        {
            return null;
        }

        if (element.ValueKind != JsonValueKind.Array)
        {
            return Invalid(path, "must be an array");
        }

        var count = element.GetArrayLength();
        if (count > MaxItems)
        {
            return Invalid(path, $"must hold at most {MaxItems} items");
        }

        var list = new PurchaseItem[count];
        var slots = default(FieldSlots);
        var f = ((Span<JsonElement>)slots)[..ItemFields.Length];
        var index = 0;
        foreach (var item in element.EnumerateArray())
        {
            var itemPath = path.Item(index);
            if (item.ValueKind != JsonValueKind.Object)
            {
                return Invalid(itemPath, "must be an object");
            }

            f.Clear();
            DeadLetter? error;
            if ((error = Collect(item, itemPath, ItemFields, f)) is not null
                || (error = RequireId(f[0], itemPath with { Name = "sku" }, FieldRules.MaxIdLength, out var sku, code: true)) is not null
                || (error = RequireId(f[1], itemPath with { Name = "category" }, FieldRules.MaxIdLength, out var category, code: true)) is not null
                || (error = RequireQuantity(f[2], itemPath with { Name = "quantity" }, out var quantity)) is not null
                || (error = RequireAmount(f[3], itemPath with { Name = "unit_price" }, out var unitPrice)) is not null)
            {
                return error;
            }

            list[index++] = new PurchaseItem(sku, category, quantity, unitPrice);
        }

        items = list;
        return null;
    }

    private static DeadLetter? RequireQuantity(JsonElement element, FieldPath path, out int quantity)
    {
        quantity = 0;
        if (IsAbsent(element))
        {
            return Missing(path);
        }

        if (element.ValueKind != JsonValueKind.Number || !element.TryGetInt32(out quantity) || !IsQuantity(quantity))
        {
            quantity = 0;
            return Invalid(path, $"must be a whole number between 1 and {MaxQuantity}");
        }

        return null;
    }

    private static DeadLetter? ParseRefund(JsonElement obj, BrandSettings brand, out EventPayload? payload)
    {
        payload = null;
        var path = new FieldPath("refund");
        var slots = default(FieldSlots);
        var f = ((Span<JsonElement>)slots)[..RefundFields.Length];
        DeadLetter? error;
        if ((error = Collect(obj, path, RefundFields, f)) is not null
            || (error = RequireId(f[0], path.Child("order_id"), FieldRules.MaxIdLength, out var orderId)) is not null
            || (error = RequireAmount(f[1], path.Child("amount"), out var amount)) is not null
            || (error = CheckCurrency(f[2], path.Child("currency"), brand, required: false, out var currency)) is not null)
        {
            return error;
        }

        payload = new RefundPayload(orderId, amount, currency);
        return null;
    }

    private static DeadLetter? ParseCheckIn(JsonElement obj, out EventPayload? payload)
    {
        payload = null;
        var path = new FieldPath("check_in");
        var slots = default(FieldSlots);
        var f = ((Span<JsonElement>)slots)[..CheckInFields.Length];
        DeadLetter? error;
        if ((error = Collect(obj, path, CheckInFields, f)) is not null
            || (error = RequireId(f[0], path.Child("location_id"), FieldRules.MaxIdLength, out var locationId, code: true)) is not null)
        {
            return error;
        }

        payload = new CheckInPayload(locationId);
        return null;
    }

    private static DeadLetter? ParseSurveyAnswer(JsonElement obj, out EventPayload? payload)
    {
        payload = null;
        var path = new FieldPath("survey_answer");
        var slots = default(FieldSlots);
        var f = ((Span<JsonElement>)slots)[..SurveyFields.Length];
        DeadLetter? error;
        if ((error = Collect(obj, path, SurveyFields, f)) is not null
            || (error = RequireId(f[0], path.Child("survey_id"), FieldRules.MaxIdLength, out var surveyId, code: true)) is not null
            || (error = RequireId(f[1], path.Child("question_id"), FieldRules.MaxIdLength, out var questionId, code: true)) is not null
            || (error = ReadScalar(f[2], path.Child("answer"), allowBool: false, out var answer)) is not null)
        {
            return error;
        }

        payload = new SurveyAnswerPayload(surveyId, questionId, answer);
        return null;
    }

    private static DeadLetter? ParseConsentUpdate(JsonElement obj, out EventPayload? payload)
    {
        payload = null;
        var path = new FieldPath("consent_update");
        var slots = default(FieldSlots);
        var f = ((Span<JsonElement>)slots)[..ConsentFields.Length];
        DeadLetter? error;
        if ((error = Collect(obj, path, ConsentFields, f)) is not null
            || (error = RequireString(f[0], path.Child("channel"), out var channelText)) is not null
            || (error = RequireString(f[1], path.Child("status"), out var statusText)) is not null
            || (error = RequireId(f[2], path.Child("source"), FieldRules.MaxTextLength, out var source)) is not null)
        {
            return error;
        }

        if (!WireNames.TryParseChannel(channelText, out var channel))
        {
            return Invalid(path.Child("channel"), "must be one of email, sms, push");
        }

        if (!WireNames.TryParseConsentStatus(statusText, out var status))
        {
            return Invalid(path.Child("status"), "must be one of opted_in, opted_out, pending_confirmation");
        }

        payload = new ConsentUpdatePayload(channel, status, source);
        return null;
    }

    private static DeadLetter? ParseCustom(JsonElement obj, out EventPayload? payload)
    {
        payload = null;
        var path = new FieldPath("custom");
        var slots = default(FieldSlots);
        var f = ((Span<JsonElement>)slots)[..CustomFields.Length];
        DeadLetter? error;
        if ((error = Collect(obj, path, CustomFields, f)) is not null
            || (error = RequireString(f[0], path.Child("name"), out var name)) is not null)
        {
            return error;
        }

        if (!FieldRules.IsIdentifier(name) || EventTypeNames.ReservedCustomNames.Contains(name))
        {
            return Invalid(path.Child("name"), "must be an identifier (ASCII letter or '_', then letters, digits, '_'; at most 64) and not a reserved word");
        }

        IReadOnlyDictionary<string, ScalarValue> properties = ImmutableDictionary<string, ScalarValue>.Empty;
        if (!IsAbsent(f[1]))
        {
            if ((error = ReadScalarMap(f[1], path.Child("properties"), allowNull: false, out var map)) is not null)
            {
                return error;
            }

            var builder = new Dictionary<string, ScalarValue>(map.Count, StringComparer.Ordinal);
            foreach (var (key, value) in map)
            {
                builder[key] = value!.Value;
            }

            properties = builder;
        }

        payload = new CustomPayload(name, properties);
        return null;
    }

    private static DeadLetter? ParseProfileUpdate(JsonElement obj, DateTimeOffset now, out EventPayload? payload)
    {
        payload = null;
        var path = new FieldPath("profile_update");
        var slots = default(FieldSlots);
        var f = ((Span<JsonElement>)slots)[..ProfileFieldNames.Length];
        if (Collect(obj, path, ProfileFieldNames, f) is { } error)
        {
            return error;
        }

        var update = ProfileUpdate.Empty;
        for (var i = 0; i < ProfileFieldFlags.Length; i++)
        {
            var element = f[i];
            if (element.ValueKind == JsonValueKind.Undefined)
            {
                continue;
            }

            var field = ProfileFieldFlags[i];
            var fieldPath = path.Child(ProfileFieldNames[i]);
            if (element.ValueKind == JsonValueKind.Null)
            {
                update = field == ProfileFields.BirthDate ? update.WithBirthDate(null) : update.With(field, null);
                continue;
            }

            if (element.ValueKind != JsonValueKind.String)
            {
                return Invalid(fieldPath, "must be a string or null");
            }

            var text = element.GetString()!;
            if (field == ProfileFields.BirthDate)
            {
                if (!FieldRules.TryParseBirthDate(text, now, out var birthDate))
                {
                    return Invalid(fieldPath, ProfileRules.BirthDateMessage);
                }

                update = update.WithBirthDate(birthDate);
                continue;
            }

            if (ProfileRules.Check(field, text) is { } message)
            {
                return Invalid(fieldPath, message);
            }

            update = update.With(field, text);
        }

        var attributes = f[^1];
        if (!IsAbsent(attributes))
        {
            if (ReadScalarMap(attributes, path.Child("attributes"), allowNull: true, out var map) is { } mapError)
            {
                return mapError;
            }

            update = update with { Attributes = map.ToImmutableDictionary(StringComparer.Ordinal) };
        }

        payload = new ProfileUpdatePayload(update);
        return null;
    }
}
