using SegmentEngine.Grains.Abstractions;

namespace SegmentEngine.Api.Auth;

/// <summary>The role each API method needs (SPEC §5). Unknown methods need a role no key has.</summary>
public static class MethodRoles
{
    /// <summary>The role required by a full gRPC method name such as <c>/segmentengine.v1.SegmentService/GetSegment</c>; None when the method is unknown.</summary>
    public static ApiRoles Required(string fullMethod)
    {
        var service = ServiceOf(fullMethod);
        return service switch
        {
            "segmentengine.v1.SegmentService" => ApiRoles.Marketer,
            "segmentengine.v1.AudienceService" => ApiRoles.Sender,
            "segmentengine.v1.ConsumerService" => ApiRoles.Privacy,
            "segmentengine.v1.LoyaltyService" => ApiRoles.Loyalty,
            _ => ApiRoles.None,
        };
    }

    /// <summary>True when the roles include the required one; a method requiring None is never allowed.</summary>
    public static bool IsAllowed(ApiRoles held, ApiRoles required) => required != ApiRoles.None && (held & required) == required;

    /// <summary>The lowercase role name used in API messages and the CLI (<c>marketer</c>, <c>sender</c>, ...).</summary>
    public static string Name(ApiRoles role) => role switch
    {
        ApiRoles.Marketer => "marketer",
        ApiRoles.Sender => "sender",
        ApiRoles.Privacy => "privacy",
        ApiRoles.Loyalty => "loyalty",
        ApiRoles.Admin => "admin",
        _ => role.ToString().ToLowerInvariant(),
    };

    /// <summary>Parses a comma-separated list of role names, e.g. <c>marketer,sender</c>.</summary>
    public static bool TryParse(string text, out ApiRoles roles)
    {
        roles = ApiRoles.None;
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            ApiRoles role = part.ToLowerInvariant() switch
            {
                "marketer" => ApiRoles.Marketer,
                "sender" => ApiRoles.Sender,
                "privacy" => ApiRoles.Privacy,
                "loyalty" => ApiRoles.Loyalty,
                "admin" => ApiRoles.Admin,
                _ => ApiRoles.None,
            };
            if (role == ApiRoles.None)
            {
                return false;
            }

            roles |= role;
        }

        return roles != ApiRoles.None;
    }

    private static string ServiceOf(string fullMethod)
    {
        // "/package.Service/Method"
        if (fullMethod.Length < 3 || fullMethod[0] != '/')
        {
            return "";
        }

        var slash = fullMethod.IndexOf('/', 1);
        return slash < 0 ? "" : fullMethod[1..slash];
    }
}
